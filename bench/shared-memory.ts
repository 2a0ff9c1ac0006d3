/**
 * Shared read-only data (issue 5): total memory (PSS) of 4 replicas sharing a 1 GiB tensor from
 * load_shared, against 4 replicas each loading their own. The measuring is bench/shared_memory.py
 * (it reads /proc/<pid>/smaps_rollup of the device host and every process under it); this
 * section runs it and makes its table.
 */
import path from 'node:path';
import { execa } from 'execa';
import { pythonEnv } from '../src/workers/python.js';
import type { Table } from './lib/table.js';
import { ROOT } from './lib/watched-run.js';

interface SharedMemoryReport {
  replicas: number;
  gib: number;
  columns: string[];
  rows: string[][];
}

export async function sharedMemory(): Promise<Table> {
  const { stdout } = await execa('python3', [path.join(ROOT, 'bench/shared_memory.py'), '--gib', '1', '--replicas', '4', '--json'], { env: pythonEnv(), cwd: ROOT });
  const report = JSON.parse(stdout.trim().split('\n').pop() as string) as SharedMemoryReport;
  return {
    title: `Shared read-only data: ${report.replicas} replicas on cpu:0, a ${report.gib} GiB float32 tensor (PSS)`,
    columns: report.columns,
    rows: report.rows,
    notes: [
      'PSS summed over the device host and every process under it (host, replicas, multiprocessing\'s resource tracker), from /proc/<pid>/smaps_rollup, after every replica has read all of its tensor.',
      'Target (issue 5): at most 1.3 GiB shared against about 4 GiB loaded per replica: compare the "above no tensor" column (what the data costs); "total PSS" adds what Python and torch cost per process whatever the data.',
    ],
  };
}
