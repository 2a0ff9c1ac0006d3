/**
 * `npm run bench`: every benchmark, one table each; then the tables, the command and the machine
 * are written into BENCHMARKS.md between its "bench:begin" and "bench:end" markers (the text
 * around them is written by hand and kept).
 *
 *   npm run bench                   # everything (about 10 minutes on 2 cores)
 *   npm run bench -- overhead skew  # only those sections; BENCHMARKS.md is left as it is
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { gpu } from './gpu.js';
import { largeResults } from './large-results.js';
import { memory } from './memory.js';
import { nodes } from './nodes.js';
import { machineLine } from './lib/machine.js';
import { formatTable, type Table } from './lib/table.js';
import { ROOT } from './lib/watched-run.js';
import { overhead } from './overhead.js';
import { overlap } from './overlap.js';
import { scaling } from './scaling.js';
import { sharedMemory } from './shared-memory.js';
import { skew } from './skew.js';
import { startup } from './startup.js';
import { transport } from './transport.js';

type Section = (scratch: string) => Promise<Table[]>;

const SECTIONS: Record<string, Section> = {
  overhead: async (scratch) => [(await overhead(scratch, process.env.BENCH_ITEMS ? Number(process.env.BENCH_ITEMS) : undefined, process.env.BENCH_BATCHES?.split(',').map(Number))).table],
  memory: async (scratch) => [await memory(scratch)],
  startup: async (scratch) => [await startup(scratch)],
  scaling: async (scratch) => [await scaling(scratch)],
  skew: async (scratch) => [await skew(scratch)],
  overlap: async (scratch) => [await overlap(scratch)],
  large: async (scratch) => largeResults(scratch, Number(process.env.BENCH_ROUNDS ?? 3)),
  shared: async () => [await sharedMemory()],
  gpu: async (scratch) => [await gpu(scratch)],
  transport: async (scratch) => [await transport(scratch, Number(process.env.BENCH_ITEMS ?? 100_000), Number(process.env.BENCH_ROUNDS ?? 3), process.env.BENCH_BATCHES?.split(',').map(Number))],
  nodes: async (scratch) => [await nodes(scratch, Number(process.env.BENCH_ROUNDS ?? 1))],
};

const BEGIN = '<!-- bench:begin (written by npm run bench; edit the text outside these markers) -->';
const END = '<!-- bench:end -->';

function record(tables: Table[], seconds: number): void {
  const file = path.join(ROOT, 'BENCHMARKS.md');
  const generated = [
    BEGIN,
    `Command: \`npm run bench\` (${new Date().toISOString().slice(0, 10)}, ${Math.round(seconds)} s in all)`,
    `Machine: ${machineLine()}`,
    '',
    ...tables.map(formatTable),
    END,
  ].join('\n');
  const text = readFileSync(file, 'utf8');
  const start = text.indexOf(BEGIN);
  const end = text.indexOf(END);
  if (start < 0 || end < start) throw new Error(`${file} lacks the markers ${BEGIN} … ${END}; put them where the tables belong`);
  writeFileSync(file, text.slice(0, start) + generated + text.slice(end + END.length));
  process.stderr.write(`tables written to ${file}\n`);
}

async function main(): Promise<void> {
  const asked = process.argv.slice(2);
  const names = asked.length > 0 ? asked : Object.keys(SECTIONS);
  const unknown = names.filter((name) => !(name in SECTIONS));
  if (unknown.length > 0) throw new Error(`unknown benchmark ${unknown.join(', ')}; choose from ${Object.keys(SECTIONS).join(', ')}`);
  const scratch = mkdtempSync(path.join(tmpdir(), 'gpu-orchestrate-bench-'));
  const started = Date.now();
  const tables: Table[] = [];
  try {
    for (const name of names) {
      const sectionStarted = Date.now();
      for (const table of await (SECTIONS[name] as Section)(scratch)) {
        tables.push(table);
        process.stdout.write(`${formatTable(table)}\n`);
      }
      process.stderr.write(`(${name}: ${((Date.now() - sectionStarted) / 1000).toFixed(0)} s)\n`);
    }
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
  if (asked.length === 0) record(tables, (Date.now() - started) / 1000);
}

main().catch((error: unknown) => {
  process.stderr.write(`bench: ${(error as Error).stack ?? String(error)}\n`);
  process.exitCode = 1;
});
