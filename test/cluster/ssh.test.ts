/**
 * --launcher ssh over the test cluster's sshd: a host per device, started over ssh on both nodes,
 * every item once; and a controller killed mid-run leaves nothing on the machines.
 */
import { rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { runCli, scratchDir, startCli, waitFor } from '../helpers/cli.js';
import { cluster } from './cluster.js';
import { expectEveryItemOnce, nodesUsed, openGateWhenAllHold, outputOf, processesByNode, started, WHERE, writeItems } from './runs.js';

describe('--launcher ssh', () => {
  it('starts each host over ssh on its machine: every item once, on both machines, nothing left there afterwards', async () => {
    const { nodes, cpusPerNode } = cluster();
    const dir = scratchDir('go-ssh-');
    const hosts = path.join(dir, 'hosts.txt');
    writeFileSync(hosts, `# the test cluster\n${nodes.map((node) => `${node.name} slots=${cpusPerNode}`).join('\n')}\n`);
    const output = path.join(dir, 'out.jsonl');
    const [gate, log] = [path.join(dir, 'gate'), path.join(dir, 'started.log')];
    writeFileSync(gate, '');
    const run = startCli(['--script', WHERE, '--inputs', writeItems(dir, 500), '--output', output, '--launcher', 'ssh', '--hosts', hosts, '--gpus', `cpu:${cpusPerNode}`, '--opt', `gate=${gate}`, '--opt', `log=${log}`]);
    await openGateWhenAllHold(run, log, gate, nodes.flatMap((node) => Array.from({ length: cpusPerNode }, (_, local) => `${node.name}:cpu:${local}`)));
    const result = await run.done;
    expect(result.exitCode, result.stderr).toBe(0);
    expect(result.stderr).toMatch(new RegExp(`ssh: ${nodes.length * cpusPerNode} device host\\(s\\) on ${nodes.map((node) => node.name).join(', ')}, started over ssh`));
    const lines = outputOf(output);
    expectEveryItemOnce(lines, 500);
    expect(nodesUsed(lines)).toEqual(new Set(nodes.map((node) => node.name)));
    await waitFor(() => processesByNode(result.marker).size === 0, 'the hosts to be gone from every node', 10_000).catch(() => undefined);
    expect([...processesByNode(result.marker).entries()]).toEqual([]);
  });
});

describe('--launcher ssh, the controller killed', () => {
  it('SIGKILL to the controller mid-run: its ssh sessions end with it, and every host on every machine exits; --resume completes', async () => {
    const { nodes, cpusPerNode } = cluster();
    const dir = scratchDir('go-ssh-kill-');
    const hosts = path.join(dir, 'hosts.txt');
    writeFileSync(hosts, nodes.map((node) => `${node.name} slots=${cpusPerNode}`).join('\n'));
    const [gate, log, output] = [path.join(dir, 'gate'), path.join(dir, 'started.log'), path.join(dir, 'out.jsonl')];
    writeFileSync(gate, '');
    const args = ['--script', WHERE, '--inputs', writeItems(dir, 200), '--output', output, '--launcher', 'ssh', '--hosts', hosts, '--gpus', `cpu:${cpusPerNode}`];
    const run = startCli([...args, '--opt', `gate=${gate}`, '--opt', `log=${log}`]);
    const devices = nodes.flatMap((node) => Array.from({ length: cpusPerNode }, (_, local) => `${node.name}:cpu:${local}`));
    await waitFor(() => devices.every((device) => started(log).some((entry) => entry.device === device)), 'every host to hold an item', 150_000);
    run.signalController('SIGKILL');
    const result = await run.done;
    expect(result.signal).toBe('SIGKILL');
    // The hosts hold their items behind the gate: they only exit because their session ended.
    const onNodes = () => [...processesByNode(result.marker).entries()].filter(([node]) => node !== undefined);
    await waitFor(() => onNodes().length === 0, 'every process of the run to leave the nodes', 30_000).catch(() => undefined);
    expect(onNodes(), 'processes of the run still on a node 30 s after the controller died').toEqual([]);
    rmSync(gate, { force: true });
    const resumed = await runCli([...args, '--resume']);
    expect(resumed.exitCode, resumed.stderr).toBe(0);
    expectEveryItemOnce(outputOf(output), 200);
  });
});
