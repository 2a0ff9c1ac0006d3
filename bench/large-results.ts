/**
 * 1e. Large results: every item's result carries a float32 array. MB/s from the replicas to the
 * output on disk (the .arrays file beside the JSONL), between the first result and the last.
 *
 * Issue 14's target row: 4 MiB per item at batch 4 on cpu:2 against a plain single-process loop
 * writing the same arrays to one file (bench/baselines/plain_loop_arrays.py), alternating in the
 * same run so that both see the same machine.
 */
import { execFileSync } from 'node:child_process';
import { rmSync, statSync } from 'node:fs';
import path from 'node:path';
import { writeJsonl } from './lib/inputs.js';
import { fixed, type Table } from './lib/table.js';
import { BENCH_FIXTURES, ROOT, steadyRate, watchedRun } from './lib/watched-run.js';

const MIB = 1 << 20;
const FLOAT32 = 4;

interface LargeRun {
  /** MB/s into .arrays (10^6 bytes per second), from the first result on disk to the last. */
  rate: number;
  onDisk: number;
  /** The controller's CPU (all its threads) between the first result and the last, per item written meanwhile, ms. */
  controllerMs: number;
  /** The replicas' CPU from setup to teardown, per item, ms. */
  replicasMs: number;
}

async function largeRun(scratch: string, items: number, mib: number, batchSize: number): Promise<LargeRun> {
  const inputs = writeJsonl(path.join(scratch, `large-${items}.jsonl`), Array.from({ length: items }, (_, index) => index));
  const output = path.join(scratch, 'large-out.jsonl');
  const trace = path.join(scratch, 'large-trace.jsonl');
  const run = await watchedRun({ script: path.join(BENCH_FIXTURES, 'large_results.py'), inputs, output, gpus: 'cpu:2', batchSize, opts: { values: String((mib * MIB) / FLOAT32) }, trace });
  const onDisk = statSync(path.join(scratch, 'large-out.arrays')).size;
  rmSync(path.join(scratch, 'large-out.arrays'), { force: true });
  return {
    rate: (steadyRate(run) * mib * MIB) / 1e6,
    onDisk,
    controllerMs: (run.controllerCpuSeconds / (run.lines - run.linesAtFirst)) * 1e3,
    replicasMs: (run.traces.reduce((sum, each) => sum + each.cpu_seconds, 0) / items) * 1e3,
  };
}

/** The plain loop's MB/s: one process, one write() per array, the same arrays to one file. */
function plainLoopRate(scratch: string, items: number, mib: number): number {
  const out = path.join(scratch, 'plain.arrays');
  const printed = execFileSync('python3', [path.join(ROOT, 'bench/baselines/plain_loop_arrays.py'), out, String(items), String((mib * MIB) / FLOAT32)], { encoding: 'utf8' });
  rmSync(out, { force: true });
  const { seconds, bytes } = JSON.parse(printed) as { seconds: number; bytes: number };
  return bytes / seconds / 1e6;
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? (sorted[middle] as number) : ((sorted[middle - 1] as number) + (sorted[middle] as number)) / 2;
}

export async function largeResults(scratch: string, rounds = 3): Promise<Table[]> {
  const items1 = 600;
  const rows: (string | number)[][] = [];
  for (const batchSize of [1, 8]) {
    const { rate, onDisk } = await largeRun(scratch, items1, 1, batchSize);
    rows.push([batchSize, items1, fixed(onDisk / MIB, 0), fixed(rate / (MIB / 1e6), 0), fixed(rate, 0)]);
  }
  const small: Table = {
    title: 'Large results: a 1 MiB float32 array per item, cpu:2',
    columns: ['batch size', 'items', '.arrays on disk (MiB)', 'items/s (first result → last)', 'MB/s to disk'],
    rows,
    notes: ['MB/s = items/s × 1 MiB, in 10^6 bytes per second.'],
  };

  // The target row: 4 MiB at batch 4, alternating with the plain loop.
  const items4 = 300;
  const runs: LargeRun[] = [];
  const plain: number[] = [];
  const perRound: string[] = [];
  for (let round = 0; round < rounds; round += 1) {
    plain.push(plainLoopRate(scratch, items4, 4));
    runs.push(await largeRun(scratch, items4, 4, 4));
    perRound.push(`${fixed((runs.at(-1) as LargeRun).rate, 0)} / ${fixed(plain.at(-1) as number, 0)}`);
  }
  const ours = runs.map((run) => run.rate);
  const ratio = median(ours) / median(plain);
  const target: Table = {
    title: `Large results against a plain loop: a 4 MiB float32 array per item, batch 4, cpu:2, ${items4} items (${fixed((items4 * 4) / 1024, 2)} GiB), ${rounds} rounds`,
    columns: ['MB/s per round, gpu-orchestrate / plain loop', 'median gpu-orchestrate', 'median plain loop', 'ratio', 'target ≥ 90%', 'controller CPU ms/item', 'replicas CPU ms/item'],
    rows: [[perRound.join('; '), fixed(median(ours), 0), fixed(median(plain), 0), `${fixed(ratio * 100, 0)}%`, ratio >= 0.9 ? 'met' : 'NOT met', fixed(median(runs.map((run) => run.controllerMs)), 2), fixed(median(runs.map((run) => run.replicasMs)), 2)]],
    notes: [
      'gpu-orchestrate: MB/s into the .arrays file between the first result on disk and the last (the output polled every 2 ms). Plain loop: bench/baselines/plain_loop_arrays.py, one Python process writing the same array to one file with one write() per item, first write to close; each round runs it just before gpu-orchestrate, into the same scratch folder.',
      "CPU (medians): the controller's, all threads (/proc), between the first result and the last, per item written meanwhile; the replicas' (time.process_time, setup to teardown), per item. A 4 MiB item at 1 GB/s is 4.2 ms.",
    ],
  };
  return [small, target];
}
