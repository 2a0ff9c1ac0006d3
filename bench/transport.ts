/**
 * Transport: the no-op script over ipc:// against TCP with CURVE on 127.0.0.1 (--listen), side by
 * side in one run, alternating, so both see the same machine load. What is left is what the
 * transport costs per item: CURVE's encryption, the loopback TCP stack, and nothing else
 * (the controller's code path is the same for both).
 */
import path from 'node:path';
import { writeJsonl } from './lib/inputs.js';
import { fixed, thousands, type Table } from './lib/table.js';
import { BENCH_FIXTURES, steadyRate, watchedRun, type WatchedRun } from './lib/watched-run.js';

const TRANSPORTS = { ipc: [], 'TCP + CURVE': ['--listen', '127.0.0.1'] } as const;

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? (sorted[middle] as number) : ((sorted[middle - 1] as number) + (sorted[middle] as number)) / 2;
}

export async function transport(scratch: string, items: number, rounds: number, batchSizes = [16]): Promise<Table> {
  const inputs = writeJsonl(path.join(scratch, `noop-${items}.jsonl`), Array.from({ length: items }, (_, index) => index));
  const rows: (string | number)[][] = [];
  for (const batchSize of batchSizes) {
    const runs = new Map<string, WatchedRun[]>(Object.keys(TRANSPORTS).map((name) => [name, []]));
    for (let round = 0; round < rounds; round += 1) {
      for (const [name, extra] of Object.entries(TRANSPORTS)) {
        const trace = path.join(scratch, 'transport-trace.jsonl');
        const run = await watchedRun({ script: path.join(BENCH_FIXTURES, 'noop.py'), inputs, output: path.join(scratch, 'transport-out.jsonl'), gpus: 'cpu:2', batchSize, extra: [...extra], trace });
        runs.get(name)?.push(run);
      }
    }
    for (const [name, done] of runs) {
      const rates = done.map(steadyRate);
      rows.push([
        batchSize,
        name,
        rates.map(thousands).join(' / '),
        thousands(median(rates)),
        fixed(median(done.map((run) => (run.controllerCpuSeconds / (run.lines - run.linesAtFirst)) * 1e6)), 1),
        fixed(median(done.map((run) => (run.traces.reduce((sum, trace) => sum + trace.cpu_seconds, 0) / items) * 1e6)), 1),
      ]);
    }
  }
  return {
    title: `Transport: a no-op script on cpu:2, ${thousands(items)} items, ipc against TCP with CURVE (--listen 127.0.0.1), ${rounds} rounds alternating`,
    columns: ['batch size', 'transport', 'items/s per round (first result → last)', 'median items/s', 'controller CPU µs/item (median)', 'replicas CPU µs/item (median)'],
    rows,
    notes: [
      'The two transports alternate within each round, so both see the same load. items/s and CPU as in the overhead table.',
      'TCP with CURVE: every message is encrypted and authenticated (libsodium) on both ends, and crosses the loopback TCP stack instead of a Unix socket.',
    ],
  };
}
