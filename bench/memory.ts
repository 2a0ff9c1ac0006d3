/**
 * 1b. Controller memory with the item count: no-op runs of 1 million and 10 million items at
 * batch 64 on cpu:2, then --resume of the complete 10-million-line output (which finds nothing to
 * do). Peak RSS is the controller's own (getrusage ru_maxrss at its exit), not its children's.
 * Part of `npm run bench` (about 75 s on the 2-core development machine; `npm run bench --
 * memory` alone); it writes a 1.5 GB output into the scratch folder, removed at the end.
 * BENCH_MEMORY_ITEMS changes the large run's size (the small one is a tenth of it).
 */
import { createWriteStream } from 'node:fs';
import { once } from 'node:events';
import path from 'node:path';
import { exitedRun } from './lib/exited-run.js';
import { fixed, thousands, type Table } from './lib/table.js';
import { BENCH_FIXTURES } from './lib/watched-run.js';

export const MEMORY_TARGET_BYTES = 500e6;
export const RESUME_TARGET_SECONDS = 20;

/** A JSONL file of the numbers 0..count-1, written in pieces (10 million lines are 78 MB). */
async function numbersFile(file: string, count: number): Promise<string> {
  const out = createWriteStream(file);
  const piece = 100_000;
  for (let from = 0; from < count; from += piece) {
    const lines = Array.from({ length: Math.min(piece, count - from) }, (_, i) => from + i).join('\n');
    if (!out.write(`${lines}\n`)) await once(out, 'drain');
  }
  out.end();
  await once(out, 'finish');
  return file;
}

function megabytes(bytes: number): string {
  return `${fixed(bytes / 1e6, 0)} MB`;
}

export async function memory(scratch: string, large = Number(process.env.BENCH_MEMORY_ITEMS ?? 10_000_000)): Promise<Table> {
  const script = path.join(BENCH_FIXTURES, 'noop.py');
  const output = path.join(scratch, 'memory-out.jsonl');
  const rows: (string | number)[][] = [];
  for (const count of [Math.round(large / 10), large]) {
    const inputs = await numbersFile(path.join(scratch, `numbers-${count}.jsonl`), count);
    const run = await exitedRun({ script, inputs, output, gpus: 'cpu:2', batchSize: 64 });
    const met = run.maxRssBytes <= MEMORY_TARGET_BYTES ? 'met' : 'NOT met';
    rows.push([`run, ${thousands(count)} items`, fixed(run.seconds, 1), thousands(count / run.seconds), megabytes(run.maxRssBytes), count === large ? `≤ 500 MB: ${met}` : '-']);
    if (count !== large) continue;
    const resumed = await exitedRun({ script, inputs, output, gpus: 'cpu:2', batchSize: 64, existing: 'resume', quiet: false });
    if (!/nothing to do: every item is already in/.test(resumed.stderr)) throw new Error(`the resume of a complete output ran something:\n${resumed.stderr}`);
    const fast = resumed.seconds <= RESUME_TARGET_SECONDS ? 'met' : 'NOT met';
    const small = resumed.maxRssBytes <= MEMORY_TARGET_BYTES ? 'met' : 'NOT met';
    rows.push([`--resume of that complete output`, fixed(resumed.seconds, 1), '-', megabytes(resumed.maxRssBytes), `≤ 20 s: ${fast}; ≤ 500 MB: ${small}`]);
  }
  return {
    title: 'Controller memory: no-op items at batch 64 on cpu:2',
    columns: ['run', 'command → exit (s)', 'items/s (overall)', 'controller peak RSS', 'target'],
    rows,
    notes: [
      "Peak RSS: the controller process's own ru_maxrss (getrusage, read as it exits), in 10^6 bytes; the replicas are not counted.",
      'Inputs: a JSONL file of numbers (ids are line numbers). The output of the large run is about 150 bytes a line.',
    ],
  };
}
