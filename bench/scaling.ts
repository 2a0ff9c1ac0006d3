/**
 * 1b. Scaling: the simulated-GPU fixture on 1, 2, 4 and 8 devices. Each device can do
 * 1 / per_item items per second, so the ideal is devices / per_item; efficiency is what the
 * run achieved over that, between the first result on disk and the last. The replicas wait
 * for each other at setup (--opt barrier), so all devices start together.
 */
import path from 'node:path';
import { writeJsonl } from './lib/inputs.js';
import { fixed, thousands, type Table } from './lib/table.js';
import { BENCH_FIXTURES, steadyRate, watchedRun } from './lib/watched-run.js';

const PER_ITEM_S = 0.005;
const BATCH = 8;
/** Seconds of work per device: long enough that one batch (40 ms) at the end is under 1%. */
const WORK_PER_DEVICE_S = 6;

export async function scaling(scratch: string, deviceCounts = [1, 2, 4, 8]): Promise<Table> {
  const rows: (string | number)[][] = [];
  for (const devices of deviceCounts) {
    const items = Math.round((devices * WORK_PER_DEVICE_S) / PER_ITEM_S);
    const inputs = writeJsonl(path.join(scratch, `scaling-${devices}.jsonl`), Array.from({ length: items }, (_, index) => ({ id: String(index) })));
    const run = await watchedRun({
      script: path.join(BENCH_FIXTURES, 'simulated_gpu.py'), inputs, output: path.join(scratch, 'scaling-out.jsonl'), gpus: `cpu:${devices}`, batchSize: BATCH,
      opts: { per_item: String(PER_ITEM_S), barrier: String(devices) }, trace: path.join(scratch, 'scaling-trace.jsonl'),
    });
    const ideal = devices / PER_ITEM_S;
    const achieved = steadyRate(run);
    const efficiency = achieved / ideal;
    rows.push([devices, thousands(items), fixed(ideal, 0), fixed(achieved, 1), `${fixed(efficiency * 100, 1)}%`, devices === 8 ? `≥ 97%: ${efficiency >= 0.97 ? 'met' : 'NOT met'}` : '', fixed(((run.firstLineAt ?? NaN) - run.startedAt) / 1000, 1)]);
  }
  return {
    title: `Scaling: simulated GPUs (${PER_ITEM_S * 1000} ms per item, batch ${BATCH}), cpu:N`,
    columns: ['devices', 'items', 'ideal items/s', 'achieved items/s', 'efficiency', 'target', 'command → first result (s)'],
    rows,
    notes: [
      'achieved: lines written between the first result on disk and the last, over that time (start-up excluded; the replicas start work together after a barrier in setup).',
      'The fixture sleeps once per batch for the sum of its items\' costs, so a device is busy as a GPU would be; sleeping costs no CPU, so 8 devices fit on 2 cores.',
    ],
  };
}
