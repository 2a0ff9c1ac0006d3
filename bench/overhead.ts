/**
 * 1a. Overhead: a script that does nothing, so what is left is gpu-orchestrate's own cost per
 * item and per batch. items/s is measured from the first result on disk to the last (start-up is
 * the next table's subject); "first result" is from the command to the first line on disk.
 */
import path from 'node:path';
import { writeJsonl } from './lib/inputs.js';
import { fixed, thousands, type Table } from './lib/table.js';
import { BENCH_FIXTURES, steadyRate, watchedRun, type WatchedRun } from './lib/watched-run.js';

export const OVERHEAD_TARGETS: Record<number, number> = { 1: 10_000, 16: 100_000 };

export async function overhead(scratch: string, items: number, batchSizes = [1, 16, 256]): Promise<{ table: Table; runs: Map<number, WatchedRun> }> {
  const inputs = writeJsonl(path.join(scratch, `noop-${items}.jsonl`), Array.from({ length: items }, (_, index) => index));
  const runs = new Map<number, WatchedRun>();
  const rows: (string | number)[][] = [];
  for (const batchSize of batchSizes) {
    const run = await watchedRun({ script: path.join(BENCH_FIXTURES, 'noop.py'), inputs, output: path.join(scratch, 'noop-out.jsonl'), gpus: 'cpu:2', batchSize, trace: path.join(scratch, 'noop-trace.jsonl') });
    runs.set(batchSize, run);
    const rate = steadyRate(run);
    const target = OVERHEAD_TARGETS[batchSize];
    rows.push([
      batchSize,
      thousands(items),
      thousands(rate),
      target ? `≥ ${thousands(target)}: ${rate >= target ? 'met' : 'NOT met'}` : '-',
      fixed((run.controllerCpuSeconds / (run.lines - run.linesAtFirst)) * 1e6, 1),
      fixed((run.traces.reduce((sum, trace) => sum + trace.cpu_seconds, 0) / items) * 1e6, 1),
      fixed(((run.firstLineAt ?? NaN) - run.startedAt) / 1000, 2),
      fixed((run.exitedAt - run.startedAt) / 1000, 2),
    ]);
  }
  return {
    runs,
    table: {
      title: 'Overhead: a no-op script on cpu:2 (one replica per device)',
      columns: ['batch size', 'items', 'items/s (first result → last)', 'target', 'controller CPU µs/item', 'replicas CPU µs/item', 'command → first result (s)', 'command → exit (s)'],
      rows,
      notes: [
        'items/s counts the lines written between the first line on disk and the last, over that time (polled every 2 ms).',
        "controller CPU: the Node process's user + system CPU time over the same window (from /proc, 10 ms ticks), per item: what one item costs the event loop. replicas CPU: the replicas' own CPU time (time.process_time) from setup to teardown, summed, per item.",
      ],
    },
  };
}
