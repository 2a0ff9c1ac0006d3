/**
 * 1d. Overlap: preprocess and infer each take t per item. With preprocess run ahead on the
 * replica's thread pool, one replica should do close to 1/t items per second (not 1/2t, which
 * is what doing both steps one after the other gives).
 */
import path from 'node:path';
import { writeJsonl } from './lib/inputs.js';
import { fixed, type Table } from './lib/table.js';
import { BENCH_FIXTURES, steadyRate, watchedRun } from './lib/watched-run.js';

const PER_ITEM_S = 0.01;
const BATCH = 4;
const ITEMS = 600;

export async function overlap(scratch: string): Promise<Table> {
  const inputs = writeJsonl(path.join(scratch, 'overlap.jsonl'), Array.from({ length: ITEMS }, (_, index) => index));
  const ideal = 1 / PER_ITEM_S;
  const rows: (string | number)[][] = [];
  for (const [label, fixture, opts] of [
    ['preprocess(item) + infer (overlapped)', 'overlap.py', {}],
    ['both steps inside infer (no preprocess)', 'overlap_inline.py', { inline: '1' }],
  ] as const) {
    const run = await watchedRun({ script: path.join(BENCH_FIXTURES, fixture), inputs, output: path.join(scratch, 'overlap-out.jsonl'), gpus: 'cpu:1', batchSize: BATCH, opts: { per_item: String(PER_ITEM_S), ...opts } });
    const rate = steadyRate(run);
    const first = fixture === 'overlap.py';
    rows.push([label, fixed(rate, 1), `${fixed((rate / ideal) * 100, 1)}%`, first ? `within 10% of 1/t: ${rate >= 0.9 * ideal ? 'met' : 'NOT met'}` : '(1/2t expected)']);
  }
  return {
    title: `Overlap: preprocess and infer each ${PER_ITEM_S * 1000} ms per item, one replica (cpu:1), batch ${BATCH}, ${ITEMS} items`,
    columns: ['script', 'items/s (first result → last)', 'of 1/t', 'target'],
    rows,
    notes: [`1/t = ${fixed(ideal, 0)} items/s. Both steps sleep, as a decode that releases the GIL and a device step do.`],
  };
}
