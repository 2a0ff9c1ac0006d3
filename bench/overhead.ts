/**
 * 1a. Overhead: a script that does nothing, so what is left is gpu-orchestrate's own cost per
 * item and per batch, measured as a user gets it: runs go to their exit with nothing polling
 * beside them (the harness used to read the output every 2 ms, which took CPU from the two cores
 * it measured). Each batch size runs N and 2N items. The rate is the 2N run's, from the
 * replicas' own clocks: first infer() started to the last one ended, every replica together.
 * The difference of the two runs' lengths (start-up and shut-down cancel out) checks it; it is
 * the noisier figure on a loaded machine, where start-up alone varies by seconds. The
 * controller's CPU per item is the difference of its own getrusage between the two runs.
 */
import path from 'node:path';
import { exitedRun, type ExitedRun } from './lib/exited-run.js';
import { writeJsonl } from './lib/inputs.js';
import { fixed, thousands, type Table } from './lib/table.js';
import { BENCH_FIXTURES } from './lib/watched-run.js';

/** Issue 14's targets (bundled messages). */
export const OVERHEAD_TARGETS: Record<number, number> = { 1: 100_000, 16: 300_000 };

/** N per batch size: about 3-5 s of work at the rates of a quiet machine, so that the difference dominates start-up's noise. */
const ITEMS: Record<number, number> = { 1: 100_000, 16: 400_000, 256: 1_000_000 };

/** Items per second from the replicas' own clocks: first infer() started to the last one's end, over every replica. */
function replicaRate(run: ExitedRun, items: number): number {
  const starts = run.traces.map((trace) => trace.first_infer).filter((value): value is number => value !== null);
  const ends = run.traces.map((trace) => trace.last_infer_end).filter((value): value is number => value !== null);
  return starts.length > 0 && ends.length > 0 ? items / (Math.max(...ends) - Math.min(...starts)) : NaN;
}

export async function overhead(scratch: string, items?: number, batchSizes = [1, 16, 256]): Promise<{ table: Table }> {
  const rows: (string | number)[][] = [];
  for (const batchSize of batchSizes) {
    const n = items ?? ITEMS[batchSize] ?? 200_000;
    const run = async (count: number) =>
      exitedRun({
        script: path.join(BENCH_FIXTURES, 'noop.py'),
        inputs: writeJsonl(path.join(scratch, `noop-${count}.jsonl`), Array.from({ length: count }, (_, index) => index)),
        output: path.join(scratch, 'noop-out.jsonl'),
        gpus: 'cpu:2',
        batchSize,
        trace: path.join(scratch, 'noop-trace.jsonl'),
      });
    const single = await run(n);
    const double = await run(2 * n);
    const rate = replicaRate(double, 2 * n);
    const target = OVERHEAD_TARGETS[batchSize];
    rows.push([
      batchSize,
      `${thousands(n)} / ${thousands(2 * n)}`,
      thousands(rate),
      target ? `≥ ${thousands(target)}: ${rate >= target ? 'met' : 'NOT met'}` : '-',
      thousands(n / (double.seconds - single.seconds)),
      fixed(((double.cpuSeconds - single.cpuSeconds) / n) * 1e6, 1),
      fixed((double.traces.reduce((sum, trace) => sum + trace.cpu_seconds, 0) / (2 * n)) * 1e6, 1),
      `${fixed(single.seconds, 2)} / ${fixed(double.seconds, 2)}`,
    ]);
  }
  return {
    table: {
      title: 'Overhead: a no-op script on cpu:2 (one replica per device)',
      columns: ['batch size', 'items (N / 2N)', 'items/s (2N run)', 'target', 'items/s (2N − N run lengths)', 'controller CPU µs/item', 'replicas CPU µs/item', 'command → exit (s), N / 2N'],
      rows,
      notes: [
        "items/s (2N run): 2N items over first infer() started to last infer() ended, across the replicas (their time.time()): the steady rate, start-up excluded. Nothing polls the output while the runs go.",
        "2N − N run lengths: N over the difference of the two runs' lengths, command to exit, as a user times them; start-up and shut-down cancel out, but their variation (seconds, on a loaded machine) does not.",
        "controller CPU: the Node process's user + system CPU (its own getrusage at exit), 2N run less N run, per item. replicas CPU: the replicas' own CPU time (time.process_time) from setup to teardown, summed, per item of the 2N run.",
      ],
    },
  };
}
