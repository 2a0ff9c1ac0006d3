/**
 * Runs the real CLI (dist/src/bin.js) as a user would and watches its output file grow, so a
 * benchmark sees when results reach the disk without adding any timing code to the controller.
 */
import { spawn } from 'node:child_process';
import { closeSync, existsSync, openSync, readFileSync, readSync, rmSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
export const BIN = path.join(ROOT, 'dist/src/bin.js');
export const BENCH_FIXTURES = path.join(ROOT, 'bench/fixtures');

/** How often the output file is looked at: the resolution of every "on disk" time below. */
const POLL_MS = 2;

export interface WatchedRun {
  exitCode: number | null;
  stderr: string;
  /** Unix ms: the command was started. */
  startedAt: number;
  /** Unix ms: the first line was seen on disk; undefined when none was. */
  firstLineAt: number | undefined;
  /** Lines already on disk when the first was seen (one batch's worth, usually). */
  linesAtFirst: number;
  /** Unix ms: the last line was seen on disk. */
  lastLineAt: number | undefined;
  lines: number;
  /** Unix ms: the command exited. */
  exitedAt: number;
  /** CPU seconds (user + system) the controller process used between the first line and the last. */
  controllerCpuSeconds: number;
  /** One JSON object per replica, from the fixtures' --opt trace=PATH. */
  traces: ReplicaTrace[];
}

export interface ReplicaTrace {
  device: string;
  replica: number;
  pid: number;
  host_started: number | null;
  replica_started: number | null;
  script_imported: number;
  setup_started: number;
  setup_done: number;
  first_infer: number | null;
  last_infer_end: number | null;
  items: number;
  /** CPU seconds the replica used from setup to teardown. */
  cpu_seconds: number;
}

/** Items per second from the first result on disk to the last (start-up excluded). */
export function steadyRate(run: WatchedRun): number {
  if (run.firstLineAt === undefined || run.lastLineAt === undefined || run.lastLineAt <= run.firstLineAt) return NaN;
  return (run.lines - run.linesAtFirst) / ((run.lastLineAt - run.firstLineAt) / 1000);
}

const CLOCK_TICKS_PER_SECOND = 100; // USER_HZ: what /proc/<pid>/stat counts in on Linux

/** utime + stime of a live process, from /proc; NaN once it is gone. */
function cpuSecondsOf(pid: number | undefined): number {
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, 'latin1').split(') ')[1]?.split(' ') ?? [];
    return (Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS_PER_SECOND;
  } catch {
    return NaN;
  }
}

export async function watchedRun(args: { script: string; inputs: string; output: string; gpus: string; batchSize: number; extra?: string[]; opts?: Record<string, string>; trace?: string }): Promise<WatchedRun> {
  rmSync(args.output, { force: true });
  if (args.trace) {
    rmSync(args.trace, { force: true });
    rmSync(`${args.trace}.barrier`, { recursive: true, force: true });
  }
  const opts = { ...args.opts, ...(args.trace ? { trace: args.trace } : {}) };
  const argv = [
    BIN, '--script', args.script, '--inputs', args.inputs, '--output', args.output, '--overwrite',
    '--gpus', args.gpus, '--batch-size', String(args.batchSize), '--quiet',
    ...Object.entries(opts).flatMap(([key, value]) => ['--opt', `${key}=${value}`]),
    ...(args.extra ?? []),
  ];
  const startedAt = Date.now();
  const child = spawn(process.execPath, argv, { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));

  let fd: number | undefined;
  let lines = 0;
  let linesAtFirst = 0;
  let firstLineAt: number | undefined;
  let lastLineAt: number | undefined;
  const buffer = Buffer.alloc(1 << 20);
  let cpuAtFirst = NaN;
  let cpuAtLast = NaN;
  const look = (): void => {
    if (fd === undefined) {
      if (!existsSync(args.output)) return;
      fd = openSync(args.output, 'r');
    }
    let grew = false;
    for (;;) {
      const read = readSync(fd, buffer, 0, buffer.length, null);
      if (read <= 0) break;
      for (let i = 0; i < read; i += 1) if (buffer[i] === 10) lines += 1;
      grew = true;
    }
    if (grew && lines > 0) {
      const now = Date.now();
      const cpu = cpuSecondsOf(child.pid);
      if (firstLineAt === undefined) {
        firstLineAt = now;
        linesAtFirst = lines;
        cpuAtFirst = cpu;
      }
      lastLineAt = now;
      if (Number.isFinite(cpu)) cpuAtLast = cpu;
    }
  };
  const timer = setInterval(look, POLL_MS);
  const exitCode = await new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  const exitedAt = Date.now();
  clearInterval(timer);
  look();
  if (fd !== undefined) closeSync(fd);
  const traces = args.trace && existsSync(args.trace)
    ? readFileSync(args.trace, 'utf8').split('\n').filter(Boolean).map((line) => JSON.parse(line) as ReplicaTrace)
    : [];
  if (exitCode !== 0) throw new Error(`gpu-orchestrate exited with ${exitCode} on ${args.script} (${args.gpus}, batch ${args.batchSize}):\n${stderr.slice(-2000)}`);
  return { exitCode, stderr, startedAt, firstLineAt, linesAtFirst, lastLineAt, lines, exitedAt, controllerCpuSeconds: cpuAtLast - cpuAtFirst, traces };
}
