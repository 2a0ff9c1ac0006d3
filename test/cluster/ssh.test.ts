/** --launcher ssh over the test cluster's sshd: a host per device, started over ssh on both nodes; every item once. */
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { scratchDir, startCli, waitFor } from '../helpers/cli.js';
import { cluster } from './cluster.js';
import { expectEveryItemOnce, nodesUsed, openGateWhenAllHold, outputOf, processesByNode, WHERE, writeItems } from './runs.js';

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
