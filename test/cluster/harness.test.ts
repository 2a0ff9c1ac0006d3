/**
 * The test cluster itself (test/cluster/cluster.sh): what the multi-node tests rely on, checked
 * the way they will use it: Slurm places tasks on every node, each node has its own address and
 * hostname, reaches the controller's side of the bridge, can be cut off and reconnected, and
 * lets ssh in with the cluster's key only.
 */
import { createServer, type AddressInfo } from 'node:net';
import path from 'node:path';
import { execa } from 'execa';
import { describe, expect, it } from 'vitest';
import { isAlive, waitFor } from '../helpers/processes.js';
import { scratchDir } from '../helpers/scratch.js';
import { cluster, clusterEnv, nodeNetns, nodeOfProcess, nodeProcesses, onNode, setLink, slurmdPid, startSlurmd, waitIdle } from './cluster.js';

// Connects from the node to HOST:PORT (retrying while the port refuses or the link settles, up to
// ATTEMPTS tries of 2 s each), sends a line naming the node's hostname, prints the echo.
const CLIENT = `
import socket, sys
host, port, attempts = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
for attempt in range(attempts):
    try:
        client = socket.create_connection((host, port), timeout=2)
        break
    except OSError as error:
        if attempt == attempts - 1:
            sys.exit(f"cannot connect to {host}:{port}: {error}")
client.sendall(f"ping from {socket.gethostname()}\\n".encode())
print(client.makefile().readline().strip())
`;

interface RoundTrip {
  /** What the node printed: the echo of its line, or nothing when it could not connect. */
  echo: string;
  exitCode: number | undefined;
  /** The addresses the server saw connections from. */
  peers: string[];
}

/** An echo server on the bridge address (root namespace, where the controller runs); a client on the node. */
async function roundTrip(node: string, attempts: number): Promise<RoundTrip> {
  const peers: string[] = [];
  const server = createServer((socket) => {
    peers.push(socket.remoteAddress ?? '?');
    socket.on('data', (data) => socket.end(data));
  });
  await new Promise<void>((resolve) => server.listen(0, cluster().bridgeAddress, resolve));
  try {
    const { port } = server.address() as AddressInfo;
    const result = await onNode(node, 'python3', ['-c', CLIENT, cluster().bridgeAddress, String(port), String(attempts)]);
    return { echo: String(result.stdout).trim(), exitCode: result.exitCode, peers };
  } finally {
    server.close();
  }
}

describe('the test cluster', () => {
  it('has at least two nodes, all idle in sinfo', async () => {
    const { nodes } = cluster();
    expect(nodes.length).toBeGreaterThanOrEqual(2);
    const result = await execa('sinfo', ['-h', '-N', '-o', '%N %t'], { env: clusterEnv() });
    const states = [...new Set(result.stdout.trim().split('\n'))].sort();
    expect(states).toEqual(nodes.map((node) => `${node.name} idle`).sort());
  });

  it("srun places tasks on every node, each in its node's namespaces with its node's address", async () => {
    const { nodes, cpusPerNode, bridgeAddress } = cluster();
    const tasks = nodes.length * cpusPerNode;
    // Each task reports where it runs: Slurm's node name, its hostname, its network namespace and
    // the source address it would use towards the bridge.
    const report = `
import json, os, socket
probe = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
probe.connect(("${bridgeAddress}", 9))
print(json.dumps({"rank": int(os.environ["SLURM_PROCID"]), "node": os.environ["SLURMD_NODENAME"],
    "host": socket.gethostname(), "netns": os.readlink("/proc/self/ns/net"), "address": probe.getsockname()[0]}))
`;
    const result = await execa('srun', ['-N', String(nodes.length), '-n', String(tasks), 'python3', '-c', report], { env: clusterEnv() });
    const seen = result.stdout.trim().split('\n').map((line) => JSON.parse(line) as { rank: number; node: string; host: string; netns: string; address: string });
    expect(seen.map((task) => task.rank).sort((a, b) => a - b)).toEqual([...Array(tasks).keys()]);
    for (const node of nodes) {
      const here = seen.filter((task) => task.node === node.name);
      expect(here, `tasks on ${node.name}`).toHaveLength(cpusPerNode);
      for (const task of here) {
        expect(task).toMatchObject({ host: node.name, netns: nodeNetns(node.name), address: node.address });
      }
    }
  });

  it('every node reaches the root namespace over TCP on the bridge address, from its own address', async () => {
    for (const node of cluster().nodes) {
      const trip = await roundTrip(node.name, 5);
      expect(trip.echo, `from ${node.name}`).toBe(`ping from ${node.name}`);
      expect(trip.peers).toEqual([node.address]);
    }
  });

  it("a node's link set down cuts it off (its processes live on, the other nodes still connect); set up, it connects again", async () => {
    const [other, victim] = cluster().nodes.map((node) => node.name) as [string, string];
    const sleeper = onNode(victim, 'sleep', ['600']);
    try {
      await setLink(victim, 'down');
      const cut = await roundTrip(victim, 2);
      expect(cut.exitCode).not.toBe(0);
      expect(cut.peers).toEqual([]);
      expect((await roundTrip(other, 5)).echo).toBe(`ping from ${other}`);
      expect(isAlive(sleeper.pid ?? -1)).toBe(true);
    } finally {
      await setLink(victim, 'up');
      sleeper.kill('SIGKILL');
    }
    // The bridge port forwards again at once (no STP), but give ARP a few tries.
    expect((await roundTrip(victim, 15)).echo).toBe(`ping from ${victim}`);
    await waitIdle();
  });

  it("a node whose slurmd is killed keeps its processes; its slurmd started again, Slurm runs tasks there", async () => {
    const victim = cluster().nodes.at(-1)?.name as string;
    const sleeper = onNode(victim, 'sleep', ['600']);
    try {
      const pid = slurmdPid(victim);
      process.kill(pid, 'SIGKILL');
      await waitFor(() => !isAlive(pid), `the slurmd of ${victim} (pid ${pid}) to die`, 10_000);
      expect(nodeProcesses(victim).filter((process) => process.command.startsWith('slurmd '))).toEqual([]);
      expect(isAlive(sleeper.pid ?? -1)).toBe(true);
    } finally {
      await startSlurmd(victim);
      sleeper.kill('SIGKILL');
    }
    await waitIdle();
    const result = await execa('srun', ['-N1', '-w', victim, 'hostname'], { env: clusterEnv() });
    expect(result.stdout.trim()).toBe(victim);
  });

  it("lists a node's processes: the node's own, not another node's nor the root namespace's", async () => {
    const [first, second] = cluster().nodes.map((node) => node.name) as [string, string];
    const sleeper = onNode(first, 'sleep', ['600']);
    try {
      const pid = sleeper.pid ?? -1;
      // nsenter enters the node, then execs the command: the child's pid becomes the sleep's.
      const isSleep = (found: { pid: number; command: string }): boolean => found.pid === pid && found.command === 'sleep 600';
      await waitFor(() => nodeProcesses(first).some(isSleep), `sleep (pid ${pid}) to run on ${first}`, 10_000);
      expect(nodeOfProcess(pid)).toBe(first);
      expect(nodeProcesses(second).map((process) => process.pid)).not.toContain(pid);
      expect(nodeOfProcess(process.pid)).toBeUndefined();
      for (const node of cluster().nodes) {
        expect(nodeProcesses(node.name).filter((process) => process.command.startsWith('slurmd ') && process.command.endsWith(`-N ${node.name}`))).toHaveLength(1);
      }
    } finally {
      sleeper.kill('SIGKILL');
    }
  });

  it("sshd on every node lets root in with the cluster's key and passes the test marker; another key is refused", async () => {
    const marker = `marker-${process.pid}`;
    for (const node of cluster().nodes) {
      // PATH from clusterEnv() finds the cluster's ssh, which uses its key and known_hosts.
      const result = await execa('ssh', [node.name, 'hostname; readlink /proc/self/ns/net; echo "$GPU_ORCHESTRATE_TEST_MARKER"'], {
        env: { ...clusterEnv(), GPU_ORCHESTRATE_TEST_MARKER: marker },
      });
      expect(result.stdout.trim().split('\n')).toEqual([node.name, nodeNetns(node.name), marker]);
    }
    const dir = scratchDir('go-cluster-ssh-');
    await execa('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', path.join(dir, 'key')]);
    const knownHosts = path.join(path.dirname(cluster().sshConfig), 'known_hosts');
    const stranger = await execa(
      '/usr/bin/ssh',
      ['-F', '/dev/null', '-o', 'BatchMode=yes', '-o', 'IdentitiesOnly=yes', '-o', `UserKnownHostsFile=${knownHosts}`, '-i', path.join(dir, 'key'), `root@${cluster().nodes[0]?.name}`, 'true'],
      { reject: false },
    );
    expect(stranger.exitCode).toBe(255);
    expect(stranger.stderr).toMatch(/Permission denied \(publickey\)/);
  });
});
