/**
 * 1c. Skew: item costs from a seeded log-normal, in random order and sorted by cost (a file
 * list sorted by size), on 8 simulated devices: gpu-orchestrate and the two recipes from the
 * seeds. makespan / max(total / 8, largest item): 1.00 is a perfect split.
 */
import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { logNormal, seededRandom, writeJsonl } from './lib/inputs.js';
import { fixed, type Table } from './lib/table.js';
import { BENCH_FIXTURES, ROOT, watchedRun } from './lib/watched-run.js';

const DEVICES = 8;
const SEED = 20261123;
const ITEMS = 2400;
const MEDIAN_S = 0.0176; // mean about 20 ms at sigma 0.5
const SIGMA = 0.5;

/** A few heavy items (as SAM or SuperGlue on a folder of images): the default batch size, which a heavy model would keep. */
const FEW_SLOW = { items: 48, cost: 0.25, batchSize: 8 };

async function orchestrated(scratch: string, costs: number[], order: string, batchSize = 1): Promise<number> {
  const inputs = writeJsonl(path.join(scratch, `skew-${order}.jsonl`), costs.map((cost, index) => ({ id: `item-${index}`, cost })));
  const run = await watchedRun({
    script: path.join(BENCH_FIXTURES, 'simulated_gpu.py'), inputs, output: path.join(scratch, 'skew-out.jsonl'), gpus: `cpu:${DEVICES}`, batchSize,
    opts: { barrier: String(DEVICES) }, trace: path.join(scratch, 'skew-trace.jsonl'),
  });
  // Device-side makespan, as the baselines measure theirs: first item started to last item done.
  const starts = run.traces.map((trace) => trace.first_infer ?? NaN);
  const ends = run.traces.map((trace) => trace.last_infer_end ?? NaN);
  return Math.max(...ends) - Math.min(...starts);
}

function baseline(scratch: string, script: string, costs: number[], order: string): number {
  const file = path.join(scratch, `skew-costs-${order}.json`);
  writeFileSync(file, JSON.stringify(costs));
  const output = execFileSync('python3', [path.join(ROOT, 'bench/baselines', script), file, String(DEVICES)], { encoding: 'utf8' });
  return (JSON.parse(output.trim().split('\n').pop() ?? '{}') as { makespan: number }).makespan;
}

export async function skew(scratch: string): Promise<Table> {
  const random = logNormal(seededRandom(SEED), ITEMS, MEDIAN_S, SIGMA);
  const sorted = [...random].sort((a, b) => a - b);
  const total = random.reduce((sum, cost) => sum + cost, 0);
  const largest = Math.max(...random);
  const bound = Math.max(total / DEVICES, largest);
  const rows: (string | number)[][] = [];
  for (const [order, costs] of [['random', random], ['sorted by cost', sorted]] as const) {
    const key = order.split(' ')[0] as string;
    const ours = await orchestrated(scratch, costs, key);
    const slices = baseline(scratch, 'contiguous_slices.py', costs, key);
    const pool = baseline(scratch, 'pool_apply_async.py', costs, key);
    const ratio = (makespan: number) => fixed(makespan / bound, 3);
    rows.push([order, `${fixed(ours, 2)} s → ${ratio(ours)}`, ours / bound <= 1.03 ? 'met' : 'NOT met', `${fixed(slices, 2)} s → ${ratio(slices)}`, `${fixed(pool, 2)} s → ${ratio(pool)}`]);
  }
  const few = Array.from({ length: FEW_SLOW.items }, () => FEW_SLOW.cost);
  const ideal = (FEW_SLOW.items * FEW_SLOW.cost) / DEVICES;
  const ours = await orchestrated(scratch, few, 'few', FEW_SLOW.batchSize);
  const [slices, pool] = [baseline(scratch, 'contiguous_slices.py', few, 'few'), baseline(scratch, 'pool_apply_async.py', few, 'few')];
  const ratio = (makespan: number) => fixed(makespan / ideal, 3);
  rows.push([
    `few slow items: ${FEW_SLOW.items} x ${FEW_SLOW.cost * 1000} ms, batch ${FEW_SLOW.batchSize}`,
    `${fixed(ours, 2)} s → ${ratio(ours)}`,
    `≤ 1.10 of ideal: ${ours / ideal <= 1.1 ? 'met' : 'NOT met'}`,
    `${fixed(slices, 2)} s → ${ratio(slices)}`,
    `${fixed(pool, 2)} s → ${ratio(pool)}`,
  ]);
  return {
    title: `Skew: ${ITEMS} items, log-normal costs (median ${MEDIAN_S * 1000} ms, sigma ${SIGMA}, seed ${SEED}), ${DEVICES} simulated devices`,
    columns: ['order', 'gpu-orchestrate (batch 1): makespan → ratio', 'target ≤ 1.03', 'contiguous slices (seed 000)', 'Pool.apply_async, GPU = i % 8 (seed 002)'],
    rows,
    notes: [
      `Lower bound max(total / ${DEVICES}, largest item) = max(${fixed(total / DEVICES, 2)} s, ${fixed(largest, 3)} s) = ${fixed(bound, 2)} s; ratio = makespan / bound.`,
      'makespan: from the first item started to the last item finished on the devices (process start-up excluded for all three: each waits at a barrier first).',
      '"sorted by cost" is ascending, as sorted() orders a list of files by size: the largest items come last.',
      `few slow items: the ideal is items x cost / ${DEVICES} = ${fixed(ideal, 2)} s (start-up excluded, as above); the row's ratio is makespan / ideal. The default --batch-size 8: a heavy model keeps it.`,
    ],
  };
}
