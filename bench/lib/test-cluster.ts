/**
 * The test cluster of test/cluster/ (Slurm in network namespaces on this machine) for a
 * benchmark: why it cannot run here, and a benchmark run on it with the cluster lock held the
 * whole time, as `npm run test:cluster` holds it (test/cluster/run.sh), so that the two take
 * turns. A cluster that was not up is set up first and torn down afterwards, also on failure or
 * Ctrl-C; one that was up (left by GPO_CLUSTER_KEEP=1) is used and left as it was.
 */
import { spawn, spawnSync, type StdioOptions } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { CLUSTER_DIR, cluster, type Cluster } from '../../test/cluster/cluster.js';
import { ROOT } from './watched-run.js';

const CLUSTER_SH = path.join(ROOT, 'test/cluster/cluster.sh');
/** test/cluster/lib/config.sh's LOCK_FILE: one cluster per machine. */
const LOCK_FILE = '/run/lock/gpo-cluster.lock';
/** As long as test/cluster/run.sh waits for another run: a whole cluster test run fits in it. */
const LOCK_WAIT_S = 1200;

/** The cluster cannot be had (no root, no lock, a failed set-up): the section says so in its table instead of failing. */
export class ClusterUnavailable extends Error {}

/** Why the test cluster cannot be set up on this machine; undefined when it can. */
export function whyNoCluster(): string | undefined {
  if (process.getuid?.() !== 0) return 'not root: the test cluster needs root (network namespaces, a bridge, Slurm daemons); run the bench as root';
  if (spawnSync('ip', ['netns', 'list']).status !== 0) return '`ip netns list` fails: the test cluster needs iproute2 and network namespaces';
  if (spawnSync('flock', ['--version']).status !== 0) return 'flock (util-linux) not found: the cluster lock is taken with it';
  return undefined;
}

const say = (text: string): void => void process.stderr.write(`[bench] ${text}\n`);

/**
 * Takes the cluster lock: a `flock` process holds it until its stdin closes, which is also
 * what happens when this process dies, however it dies. Resolves with the release.
 */
async function takeLock(): Promise<() => Promise<void>> {
  const holder = spawn('flock', ['-w', String(LOCK_WAIT_S), LOCK_FILE, 'sh', '-c', 'echo held; exec cat >/dev/null'], { stdio: ['pipe', 'pipe', 'pipe'] });
  let stderr = '';
  holder.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const exited = new Promise<number | null>((resolve) => holder.on('exit', (code) => resolve(code)));
  const waiting = setTimeout(() => say(`another cluster run holds ${LOCK_FILE} (npm run test:cluster?); waiting for it, up to ${LOCK_WAIT_S / 60} minutes`), 1000);
  try {
    const held = await Promise.race([
      new Promise<true>((resolve) => holder.stdout.once('data', () => resolve(true))),
      exited.then(() => false),
    ]);
    if (!held) throw new ClusterUnavailable(`could not take the cluster lock ${LOCK_FILE} within ${LOCK_WAIT_S} s${stderr ? ` (${stderr.trim()})` : ''}; find its holder with: fuser -v ${LOCK_FILE}`);
  } finally {
    clearTimeout(waiting);
  }
  return async () => {
    holder.stdin.end();
    await exited;
  };
}

/** One step of cluster.sh (up, check, down), its messages on our stderr; resolves with its exit code. */
async function clusterStep(step: string): Promise<number | null> {
  // Its daemons inherit stderr, not a pipe: nothing waits for them to close it. The lock is ours: say so.
  const stdio: StdioOptions = ['ignore', 2, 2];
  const child = spawn(CLUSTER_SH, [step], { stdio, env: { ...process.env, GPO_CLUSTER_LOCK_HELD: '1' } });
  return new Promise((resolve, reject) => {
    child.on('error', reject);
    child.on('exit', (code) => resolve(code));
  });
}

async function setUp(): Promise<void> {
  await clusterStep('down'); // what a killed earlier run left, as run.sh does
  const up = await clusterStep('up');
  if (up !== 0) throw new ClusterUnavailable(`test/cluster/cluster.sh up failed (exit ${up}; its messages are above)`);
  const check = await clusterStep('check');
  if (check !== 0) throw new ClusterUnavailable(`test/cluster/cluster.sh check failed (exit ${check}; its messages are above) on the cluster just set up`);
}

/**
 * Runs `use` on the test cluster with the lock held. `signal` aborts on SIGINT or SIGTERM, so
 * that `use` can stop what it started and the cluster is still torn down.
 */
export async function withTestCluster<T>(use: (up: Cluster, signal: AbortSignal) => Promise<T>): Promise<T> {
  const release = await takeLock();
  const abort = new AbortController();
  const onSignal = (name: NodeJS.Signals): void => {
    say(`${name}: stopping the run, then tearing the cluster down`);
    abort.abort(new Error(`interrupted by ${name}`));
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  const wasUp = existsSync(path.join(CLUSTER_DIR, 'cluster.json'));
  let failed = false;
  try {
    if (wasUp) say(`the test cluster in ${CLUSTER_DIR} is up already: using it, and leaving it up`);
    else await setUp();
    const result = await use(cluster(), abort.signal);
    abort.signal.throwIfAborted();
    return result;
  } catch (error) {
    failed = true;
    // Ctrl-C reaches cluster.sh too: its failure is the interruption, not a cluster that cannot be had.
    throw abort.signal.aborted ? abort.signal.reason : error;
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    const down = wasUp ? 0 : await clusterStep('down');
    await release();
    // A teardown that failed leaves something for the next cluster run to trip on: an error of its own.
    if (down !== 0 && !failed) throw new Error(`test/cluster/cluster.sh down failed (exit ${down}); see what is left with: test/cluster/cluster.sh leftovers`);
  }
}
