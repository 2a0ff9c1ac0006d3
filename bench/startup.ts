/**
 * 2. Start-up: from the command to the first result on disk, stage by stage, with the costs
 * that are not ours (Node's start, Python's, torch's import) measured alone beside them.
 *
 * The stages come from outside the controller: the benchmark notes when it started the command;
 * the fixture (bench/fixtures/bench_trace.py) reads its host's and its own process start times
 * from /proc (10 ms resolution) and notes when it was imported and when setup returned; the
 * benchmark sees the first line reach the disk.
 */
import path from 'node:path';
import { BIN } from './lib/watched-run.js';
import { writeJsonl } from './lib/inputs.js';
import { fixed, type Table } from './lib/table.js';
import { median, medianSeconds, pythonSeconds } from './lib/timing.js';
import { BENCH_FIXTURES, watchedRun, type ReplicaTrace, type WatchedRun } from './lib/watched-run.js';

function spreadMs(values: (number | null)[]): number {
  const known = values.filter((value): value is number => value !== null);
  return known.length > 1 ? (Math.max(...known) - Math.min(...known)) * 1000 : 0;
}

export async function startup(scratch: string, devices = 2): Promise<Table> {
  const inputs = writeJsonl(path.join(scratch, 'startup.jsonl'), Array.from({ length: 1000 }, (_, index) => index));
  const run: WatchedRun = await watchedRun({ script: path.join(BENCH_FIXTURES, 'noop.py'), inputs, output: path.join(scratch, 'startup-out.jsonl'), gpus: `cpu:${devices}`, batchSize: 16, trace: path.join(scratch, 'startup-trace.jsonl') });
  if (run.traces.length !== devices) throw new Error(`expected ${devices} replica traces, got ${run.traces.length}`);
  const first = run.traces.reduce((a, b) => (a.setup_done <= b.setup_done ? a : b));
  const last = run.traces.reduce((a, b) => (a.setup_done >= b.setup_done ? a : b));
  const command = run.startedAt / 1000;
  const stages = (trace: ReplicaTrace): number[] => [
    (trace.host_started ?? NaN) - command,
    (trace.replica_started ?? NaN) - (trace.host_started ?? NaN),
    trace.script_imported - (trace.replica_started ?? NaN),
    trace.setup_done - trace.script_imported,
  ];
  const firstStages = stages(first);
  const lastStages = stages(last);
  const toFirstResult = (run.firstLineAt ?? NaN) / 1000 - first.setup_done;

  const nodeAlone = medianSeconds(process.execPath, ['-e', '0']);
  const nodeOurs = medianSeconds(process.execPath, [BIN, '--version']);
  const preflight = medianSeconds('python3', ['-m', 'gpu_orchestrate_worker', 'preflight', '--script', path.join(BENCH_FIXTURES, 'noop.py')], 3, (await import('../src/workers/python.js')).pythonEnv());
  const pythonAlone = pythonSeconds('pass');
  const torchImport = pythonSeconds('import torch');
  const ourImports = pythonSeconds('import gpu_orchestrate_worker.replica, gpu_orchestrate_worker.host, zmq');
  const s = (value: number) => fixed(value, 2);
  return {
    title: `Start-up: command → first result, no-op script on cpu:${devices}`,
    columns: ['stage', 'first replica ready (s)', 'last replica ready (s)', 'what it holds'],
    rows: [
      ['command → device host process started', s(firstStages[0] as number), s(lastStages[0] as number), `Node start + our modules (node bin.js --version: ${s(nodeOurs)} s, bare node: ${s(nodeAlone)} s), reading the inputs, preflight (${s(preflight)} s), spawn`],
      ['host started → replica process started', s(firstStages[1] as number), s(lastStages[1] as number), `the host's Python start and imports (bare python: ${s(pythonAlone)} s; our modules + zmq: ${s(ourImports)} s), then spawn`],
      ['replica started → script imported', s(firstStages[2] as number), s(lastStages[2] as number), `the replica's Python start, torch import (alone: ${s(torchImport)} s), the script's import`],
      ["script imported → setup() returned", s(firstStages[3] as number), s(lastStages[3] as number), "the script's setup (none here)"],
      ['setup returned → first result on disk', s(toFirstResult), '', 'ready report, first batch sent, run, written'],
      ['**command → first result on disk**', s((run.firstLineAt ?? NaN) / 1000 - command), '', ''],
    ],
    notes: [
      `Parallel starts: the ${devices} device hosts started within ${fixed(spreadMs(run.traces.map((t) => t.host_started)), 0)} ms of each other, their replicas within ${fixed(spreadMs(run.traces.map((t) => t.replica_started)), 0)} ms (process start times from /proc: 10 ms resolution).`,
      `Reference on this machine: \`python3 -c "import torch"\` takes ${s(torchImport)} s (median of 3); every device's replica pays it once, and on 2 cores ${devices} replicas importing torch at once share the CPU.`,
      `Median setup_done across replicas: ${fixed(median(run.traces.map((t) => t.setup_done - command)), 2)} s after the command.`,
    ],
  };
}
