/**
 * Runs the real CLI to its exit, as a user would, and reads back what the controller process
 * used from its own getrusage (bench/lib/controller-usage.ts): the figures a user gets, with
 * nothing polling beside the run for the two cores.
 */
import { spawn } from 'node:child_process';
import { existsSync, readFileSync, rmSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { BIN, type ReplicaTrace } from './watched-run.js';

const USAGE_MODULE = path.join(path.dirname(fileURLToPath(import.meta.url)), 'controller-usage.js');

export interface ExitedRun {
  /** Command to exit, seconds (wall clock, measured by the benchmark). */
  seconds: number;
  /** The controller process's peak resident set (getrusage ru_maxrss), bytes. */
  maxRssBytes: number;
  /** The controller's user + system CPU time, seconds. */
  cpuSeconds: number;
  stderr: string;
  /** One JSON object per replica, from the fixtures' --opt trace=PATH. */
  traces: ReplicaTrace[];
}

export interface RunArgs {
  script: string;
  inputs: string;
  output: string;
  gpus: string;
  batchSize: number;
  /** overwrite (default): a fresh output; resume: --resume an existing one. */
  existing?: 'overwrite' | 'resume';
  trace?: string;
  /** --quiet (default): no progress or notices on stderr. */
  quiet?: boolean;
  /** --opt KEY=VALUE for the script. */
  opts?: Record<string, string>;
}

export async function exitedRun(args: RunArgs): Promise<ExitedRun> {
  const usageFile = `${args.output}.usage.json`;
  rmSync(usageFile, { force: true });
  if (args.trace) {
    rmSync(args.trace, { force: true });
    rmSync(`${args.trace}.barrier`, { recursive: true, force: true });
  }
  const argv = [
    '--import', USAGE_MODULE, BIN, '--script', args.script, '--inputs', args.inputs, '--output', args.output,
    `--${args.existing ?? 'overwrite'}`, '--gpus', args.gpus, '--batch-size', String(args.batchSize), ...(args.quiet === false ? [] : ['--quiet']),
    ...(args.trace ? ['--opt', `trace=${args.trace}`] : []),
    ...Object.entries(args.opts ?? {}).flatMap(([key, value]) => ['--opt', `${key}=${value}`]),
  ];
  const started = process.hrtime.bigint();
  const child = spawn(process.execPath, argv, { stdio: ['ignore', 'ignore', 'pipe'], env: { ...process.env, GPU_ORCHESTRATE_BENCH_USAGE: usageFile } });
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const exitCode = await new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  if (exitCode !== 0) throw new Error(`gpu-orchestrate exited with ${exitCode} on ${args.script} (${args.gpus}, batch ${args.batchSize}):\n${stderr.slice(-2000)}`);
  const usage = JSON.parse(readFileSync(usageFile, 'utf8')) as { maxRssKiB: number; userMicros: number; systemMicros: number };
  rmSync(usageFile, { force: true });
  const traces = args.trace && existsSync(args.trace) ? readFileSync(args.trace, 'utf8').split('\n').filter(Boolean).map((line) => JSON.parse(line) as ReplicaTrace) : [];
  return { seconds, maxRssBytes: usage.maxRssKiB * 1024, cpuSeconds: (usage.userMicros + usage.systemMicros) / 1e6, stderr, traces };
}
