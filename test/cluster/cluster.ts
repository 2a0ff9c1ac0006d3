/**
 * The test cluster as the multi-node tests see it: its nodes, and the ways to act on them.
 * test/cluster/cluster.sh sets it up and writes cluster.json into its state folder; these
 * helpers only read that description (see test/cluster/README.md).
 */
import { readFileSync, readdirSync, readlinkSync, statSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { execa, type Options, type ResultPromise } from 'execa';

export const CLUSTER_SCRIPT = path.join(path.dirname(fileURLToPath(import.meta.url)), 'cluster.sh');
/** The state folder: GPO_CLUSTER_DIR as cluster.sh reads it. */
export const CLUSTER_DIR = process.env.GPO_CLUSTER_DIR ?? '/tmp/gpo-cluster';

export interface ClusterNode {
  /** Slurm's NodeName, the node's hostname and its /etc/hosts name. */
  name: string;
  address: string;
  /** Bind mounts of the node's network and UTS namespaces. */
  netns: string;
  uts: string;
  /** The root-namespace end of the node's veth: down cuts the node off. */
  link: string;
}

export interface Cluster {
  dir: string;
  bridge: string;
  /** The root namespace's address on the bridge: where a controller listens for the nodes. */
  bridgeAddress: string;
  cpusPerNode: number;
  slurmConf: string;
  slurmdTimeout: number;
  /** ssh client config with the cluster's key and known_hosts; binDir/ssh uses it. */
  sshConfig: string;
  binDir: string;
  nodes: ClusterNode[];
}

/** The cluster that is up; fails with what to run when none is. */
export function cluster(): Cluster {
  const file = path.join(CLUSTER_DIR, 'cluster.json');
  try {
    return JSON.parse(readFileSync(file, 'utf8')) as Cluster;
  } catch (error) {
    throw new Error(
      `no test cluster is up (${file}: ${(error as Error).message}); run \`npm run test:cluster\`, which sets it up, ` +
        'runs these tests and tears it down, or set it up by hand: test/cluster/cluster.sh up && test/cluster/cluster.sh sshd',
    );
  }
}

export function node(name: string): ClusterNode {
  const found = cluster().nodes.find((candidate) => candidate.name === name);
  if (found === undefined) throw new Error(`the test cluster has no node ${name} (it has ${cluster().nodes.map((n) => n.name).join(', ')})`);
  return found;
}

/** The environment in which srun, sinfo and ssh reach this cluster. */
export function clusterEnv(): Record<string, string> {
  const { slurmConf, binDir } = cluster();
  return { SLURM_CONF: slurmConf, PATH: `${binDir}:${process.env.PATH ?? ''}` };
}

/**
 * Runs a command on a node: in its network and UTS namespaces (its address, its hostname), with
 * the machine's filesystem and pids. Not `ip netns exec`, which remounts /sys.
 */
export function onNode(name: string, command: string, args: string[] = [], options: Options = {}): ResultPromise {
  const { netns, uts } = node(name);
  return execa('nsenter', [`--net=${netns}`, `--uts=${uts}`, '--', command, ...args], { reject: false, ...options });
}

/** Sets the node's link down (cut off from the bridge, its processes alive) or up again. */
export async function setLink(name: string, state: 'up' | 'down'): Promise<void> {
  await execa('ip', ['link', 'set', node(name).link, state]);
}

export interface NodeConnection {
  /** The remote end, "10.201.0.1:41235" (IPv4-mapped addresses as IPv4). */
  peer: string;
  pid: number;
}

/** The node's established TCP connections (ss in its network namespace), with the pid that owns each. */
export async function nodeConnections(name: string): Promise<NodeConnection[]> {
  const { stdout } = await execa('nsenter', [`--net=${node(name).netns}`, '--', 'ss', '-tnpH', 'state', 'established']);
  const found: NodeConnection[] = [];
  for (const line of stdout.split('\n')) {
    // "0 0 10.201.0.11:51234 10.201.0.1:41235 users:(("python3",pid=4242,fd=12),...)"
    const match = /\S+:\d+\s+(\S+:\d+)\s+users:\(\((.*)\)\)/.exec(line);
    if (!match) continue;
    // An IPv4 peer of an IPv6 socket (the hosts set ZeroMQ's ipv6 option) shows as [::ffff:10.201.0.1]:41235.
    const peer = (match[1] as string).replace(/^\[::ffff:([\d.]+)\]/, '$1');
    for (const owner of (match[2] as string).matchAll(/pid=(\d+)/g)) found.push({ peer, pid: Number(owner[1]) });
  }
  return found;
}

/** A node's network namespace as /proc/PID/ns/net names it ("net:[4026532177]"). */
export function nodeNetns(name: string): string {
  return `net:[${statSync(node(name).netns).ino}]`;
}

/** The network namespace a process lives in, as /proc shows it. */
function netnsOf(pid: string): string | undefined {
  try {
    return readlinkSync(`/proc/${pid}/ns/net`);
  } catch {
    return undefined; // gone, or a kernel thread
  }
}

export interface NodeProcess {
  pid: number;
  command: string;
}

/** Every live process on a node (its network namespace), with its command line. */
export function nodeProcesses(name: string): NodeProcess[] {
  const wanted = nodeNetns(name);
  const found: NodeProcess[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry) || netnsOf(entry) !== wanted) continue;
    try {
      if (/State:\s+Z/.test(readFileSync(`/proc/${entry}/status`, 'latin1'))) continue;
      const command = readFileSync(`/proc/${entry}/cmdline`, 'latin1').split('\0').join(' ').trim();
      found.push({ pid: Number(entry), command });
    } catch {
      // ended while we looked
    }
  }
  return found;
}

/** The node a process runs on, or undefined for the root namespace (the controller's). */
export function nodeOfProcess(pid: number): string | undefined {
  const namespace = netnsOf(String(pid));
  return cluster().nodes.find((candidate) => nodeNetns(candidate.name) === namespace)?.name;
}

/** The node's slurmd pid, from its pid file. */
export function slurmdPid(name: string): number {
  return Number(readFileSync(path.join(cluster().dir, 'nodes', node(name).name, 'slurmd.pid'), 'utf8').trim());
}

/** Starts the node's slurmd again (after a test killed it); it registers with slurmctld at once. */
export async function startSlurmd(name: string): Promise<void> {
  const result = await clusterScript(['slurmd', name]);
  if (result.exitCode !== 0) throw new Error(`could not start the slurmd of ${name}: ${String(result.all)}`);
}

/**
 * Waits until sinfo shows every node idle again: after a node was cut off for longer than
 * cluster().slurmdTimeout, slurmctld marks it down and takes it back only on its next ping
 * (up to a minute later). Tests that break a node call this before they end.
 */
export async function waitIdle(timeoutMs = 120_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let states = '';
  while (Date.now() < deadline) {
    states = String((await execa('sinfo', ['-h', '-N', '-o', '%N %t'], { env: clusterEnv(), reject: false })).stdout);
    const idle = new Set(states.split('\n').filter((line) => line.endsWith(' idle')).map((line) => line.split(' ')[0]));
    if (cluster().nodes.every((candidate) => idle.has(candidate.name))) return;
    await sleep(500);
  }
  throw new Error(`the cluster's nodes were not all idle after ${timeoutMs / 1000} s; sinfo says: ${states.replace(/\n/g, '; ')}`);
}

/** Runs test/cluster/cluster.sh (up, down, leftovers, ...). */
export function clusterScript(args: string[], options: Options = {}): ResultPromise {
  return execa(CLUSTER_SCRIPT, args, { reject: false, all: true, ...options });
}
