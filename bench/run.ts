/**
 * `npm run bench`: every benchmark, one table each, then the tables, the command and the machine
 * written into BENCHMARKS.md between its generated-section markers.
 *
 *   npm run bench                   # everything (under 10 minutes on 2 cores)
 *   npm run bench -- overhead skew  # only those sections; BENCHMARKS.md is left as it is
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { overhead } from './overhead.js';
import { startup } from './startup.js';
import { formatTable, type Table } from './lib/table.js';

type Section = (scratch: string) => Promise<Table[]>;

const SECTIONS: Record<string, Section> = {
  overhead: async (scratch) => [(await overhead(scratch, Number(process.env.BENCH_ITEMS ?? 100_000), process.env.BENCH_BATCHES?.split(',').map(Number))).table],
  startup: async (scratch) => [await startup(scratch)],
};

async function main(): Promise<void> {
  const asked = process.argv.slice(2);
  const names = asked.length > 0 ? asked : Object.keys(SECTIONS);
  const unknown = names.filter((name) => !(name in SECTIONS));
  if (unknown.length > 0) throw new Error(`unknown benchmark ${unknown.join(', ')}; choose from ${Object.keys(SECTIONS).join(', ')}`);
  const scratch = mkdtempSync(path.join(tmpdir(), 'gpu-orchestrate-bench-'));
  const tables: Table[] = [];
  try {
    for (const name of names) {
      const started = Date.now();
      for (const table of await (SECTIONS[name] as Section)(scratch)) {
        tables.push(table);
        process.stdout.write(`${formatTable(table)}\n`);
      }
      process.stderr.write(`(${name}: ${((Date.now() - started) / 1000).toFixed(0)} s)\n`);
    }
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
}

main().catch((error: unknown) => {
  process.stderr.write(`bench: ${(error as Error).stack ?? String(error)}\n`);
  process.exitCode = 1;
});
