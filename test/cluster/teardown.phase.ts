/**
 * The last phase of `npm run test:cluster` (GPO_CLUSTER_PHASE=teardown, vitest.cluster.config.ts):
 * tears the cluster down and checks that nothing of it is left, the way someone would check by
 * hand: no daemon of ours alive, no process in its namespaces, no namespace, interface, hosts
 * line, mount or state folder. Then a second teardown, with nothing up, succeeds and does nothing.
 */
import { existsSync, readFileSync, readdirSync, readlinkSync } from 'node:fs';
import path from 'node:path';
import { execa } from 'execa';
import { expect, it } from 'vitest';
import { isAlive } from '../helpers/processes.js';
import { cluster, clusterScript, nodeNetns } from './cluster.js';

function pidFrom(file: string): number {
  const pid = Number(readFileSync(file, 'utf8').trim());
  if (!Number.isInteger(pid) || pid <= 0) throw new Error(`${file} holds no pid`);
  return pid;
}

/** Pids of live processes in any of these network namespaces. */
function processesIn(namespaces: Set<string>): number[] {
  return readdirSync('/proc')
    .filter((entry) => /^\d+$/.test(entry))
    .filter((entry) => {
      try {
        return namespaces.has(readlinkSync(`/proc/${entry}/ns/net`)) && isAlive(Number(entry));
      } catch {
        return false;
      }
    })
    .map(Number);
}

it('teardown leaves nothing of the cluster, and a second teardown with nothing up succeeds', async () => {
  const up = cluster();
  const daemons = new Map<string, number>([
    ['munged', pidFrom(path.join(up.dir, 'munge/munged.pid'))],
    ['slurmctld', pidFrom(path.join(up.dir, 'slurm/ctld/slurmctld.pid'))],
  ]);
  for (const node of up.nodes) {
    daemons.set(`slurmd of ${node.name}`, pidFrom(path.join(up.dir, 'nodes', node.name, 'slurmd.pid')));
    daemons.set(`sshd of ${node.name}`, pidFrom(path.join(up.dir, 'ssh/nodes', node.name, 'sshd.pid')));
  }
  for (const [name, pid] of daemons) expect(isAlive(pid), `${name} (pid ${pid}) before teardown`).toBe(true);
  const namespaces = new Set(up.nodes.map((node) => nodeNetns(node.name)));
  expect(processesIn(namespaces).length).toBeGreaterThanOrEqual(up.nodes.length * 2);

  const down = await clusterScript(['down']);
  expect(down.exitCode, String(down.all)).toBe(0);

  for (const [name, pid] of daemons) expect(isAlive(pid), `${name} (pid ${pid}) after teardown`).toBe(false);
  expect(processesIn(namespaces)).toEqual([]);
  const netns = await execa('ip', ['netns', 'list']);
  const links = await execa('ip', ['-o', 'link', 'show']);
  for (const node of up.nodes) {
    expect(netns.stdout).not.toMatch(new RegExp(`^${node.name}\\b`, 'm'));
    expect(links.stdout).not.toContain(`${node.link}@`);
  }
  expect(links.stdout).not.toContain(`${up.bridge}:`);
  const hosts = readFileSync('/etc/hosts', 'utf8');
  expect(hosts).not.toContain('gpo-cluster');
  for (const node of up.nodes) expect(hosts).not.toContain(node.address);
  expect(readFileSync('/proc/self/mountinfo', 'utf8')).not.toContain(up.dir);
  expect(existsSync(up.dir)).toBe(false);

  const again = await clusterScript(['down']);
  expect(again.exitCode, String(again.all)).toBe(0);
  const leftovers = await clusterScript(['leftovers']);
  expect(leftovers.exitCode, String(leftovers.all)).toBe(0);
  expect(leftovers.all).toBe('');
});
