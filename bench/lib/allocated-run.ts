/**
 * A watched run (watched-run.ts) inside a new Slurm allocation: this file, run under `salloc`,
 * starts the CLI with watchedRun and prints what it saw as JSON. The controller then runs where
 * salloc runs it (this machine's namespace, as in a batch script), with the allocation's
 * environment, and its output is watched as on one machine: the same rate as the scaling table's.
 *
 *   salloc --nodes=2 --ntasks-per-node=2 ... node dist/bench/lib/allocated-run.js '<watchedRun arguments as JSON>'
 */
import { spawn, spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { watchedRun, type WatchedRun } from './watched-run.js';

type WatchedRunArgs = Parameters<typeof watchedRun>[0];

/** The benchmarks' allocations, cancelled by this name when a run fails. */
export const BENCH_JOB_NAME = 'gpu-orchestrate-bench';
const SELF = fileURLToPath(import.meta.url);

export interface Allocation {
  nodes: number;
  tasksPerNode: number;
  /** SLURM_CONF and PATH for the cluster (test/cluster/cluster.ts clusterEnv()). */
  env: Record<string, string>;
  /** A run that takes longer is killed (salloc, the watcher, the controller): the allocation is cancelled. */
  timeoutMs: number;
  signal: AbortSignal;
}

export async function allocatedRun(allocation: Allocation, args: WatchedRunArgs): Promise<WatchedRun> {
  allocation.signal.throwIfAborted();
  const salloc = [`--nodes=${allocation.nodes}`, `--ntasks-per-node=${allocation.tasksPerNode}`, '--no-kill', '--quiet', `--job-name=${BENCH_JOB_NAME}`];
  // A process group of its own: a failed or interrupted run is ended whole, salloc, watcher and controller.
  const child = spawn('salloc', [...salloc, process.execPath, SELF, JSON.stringify(args)], { stdio: ['ignore', 'pipe', 'pipe'], detached: true, env: { ...process.env, ...allocation.env } });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  let stopped: string | undefined;
  const stop = (why: string): void => {
    stopped ??= why;
    try {
      process.kill(-(child.pid as number), 'SIGKILL');
    } catch {
      // already gone
    }
  };
  const timer = setTimeout(() => stop(`it ran past ${allocation.timeoutMs / 1000} s`), allocation.timeoutMs);
  const onAbort = (): void => stop(String((allocation.signal.reason as Error | undefined)?.message ?? 'interrupted'));
  allocation.signal.addEventListener('abort', onAbort);
  const code = await new Promise<number | null>((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (exitCode) => resolve(exitCode));
  }).finally(() => {
    clearTimeout(timer);
    allocation.signal.removeEventListener('abort', onAbort);
  });
  if (code === 0 && stopped === undefined) return JSON.parse(stdout) as WatchedRun;
  // salloc killed with SIGKILL cannot give its allocation back.
  spawnSync('scancel', ['--name', BENCH_JOB_NAME], { stdio: 'ignore', env: { ...process.env, ...allocation.env } });
  const what = `the run on ${allocation.nodes} node(s) (salloc ${salloc.join(' ')})`;
  throw new Error(stopped ? `${what} was stopped: ${stopped}\n${stderr.slice(-2000)}` : `${what} failed with exit ${code}:\n${stderr.slice(-2000)}`);
}

if (process.argv[1] === SELF) {
  watchedRun(JSON.parse(process.argv[2] ?? '{}') as WatchedRunArgs).then(
    (run) => process.stdout.write(JSON.stringify(run)),
    (error: unknown) => {
      process.stderr.write(`${(error as Error).message}\n`);
      process.exitCode = 1;
    },
  );
}
