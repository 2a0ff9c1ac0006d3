/**
 * 1e. Large results: every item's result carries a 1 MiB float32 array. MB/s from the replicas
 * to the output on disk (the .arrays file beside the JSONL), between the first result and the last.
 */
import { statSync } from 'node:fs';
import path from 'node:path';
import { writeJsonl } from './lib/inputs.js';
import { fixed, type Table } from './lib/table.js';
import { BENCH_FIXTURES, steadyRate, watchedRun } from './lib/watched-run.js';

const ITEMS = 600;
const MIB = 1 << 20;

export async function largeResults(scratch: string, batchSizes = [1, 8]): Promise<Table> {
  const inputs = writeJsonl(path.join(scratch, 'large.jsonl'), Array.from({ length: ITEMS }, (_, index) => index));
  const rows: (string | number)[][] = [];
  for (const batchSize of batchSizes) {
    const output = path.join(scratch, 'large-out.jsonl');
    const run = await watchedRun({ script: path.join(BENCH_FIXTURES, 'large_results.py'), inputs, output, gpus: 'cpu:2', batchSize });
    const rate = steadyRate(run);
    const arrays = statSync(path.join(scratch, 'large-out.arrays')).size;
    rows.push([batchSize, ITEMS, fixed(arrays / MIB, 0), fixed(rate, 0), fixed((rate * MIB) / 1e6, 0)]);
  }
  return {
    title: 'Large results: a 1 MiB float32 array per item, cpu:2',
    columns: ['batch size', 'items', '.arrays on disk (MiB)', 'items/s (first result → last)', 'MB/s to disk'],
    rows,
    notes: ['MB/s = items/s × 1 MiB, in 10^6 bytes per second.'],
  };
}
