/**
 * --launcher slurm on the test cluster (2 nodes x 2 CPU devices): a run across both nodes against
 * the same run on one machine, the launcher chosen inside an allocation, a node cut off mid-run,
 * and doctor on every node. The controller runs under salloc, where a batch script would run it.
 */
import { rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { BIN, runCli, scratchDir, startCli, waitFor } from '../helpers/cli.js';
import { linesSoFar } from '../helpers/cli.js';
import { execa } from 'execa';
import { survivors } from '../helpers/processes.js';
import { cluster, clusterEnv, nodeConnections, setLink, waitIdle } from './cluster.js';
import { expectEveryItemOnce, inAllocation, nodesUsed, openGateWhenAllHold, outputOf, started, WHERE, writeItems } from './runs.js';

describe('--launcher slurm', () => {
  it('2,000 items across both nodes: every item once, both nodes used, the same answers as on one machine', async () => {
    const { nodes, cpusPerNode, bridgeAddress } = cluster();
    const dir = scratchDir('go-slurm-');
    const items = writeItems(dir, 2000);
    const output = path.join(dir, 'nodes.jsonl');
    // Items wait at a gate until every host holds one: then both nodes take part, whichever starts first.
    const [gate, log] = [path.join(dir, 'gate'), path.join(dir, 'started.log')];
    writeFileSync(gate, '');
    const run = startCli(['--script', WHERE, '--inputs', items, '--output', output, '--launcher', 'slurm', '--gpus', `cpu:${cpusPerNode}`, '--batch-size', '16', '--opt', `gate=${gate}`, '--opt', `log=${log}`], {
      wrapper: inAllocation(nodes.length, cpusPerNode),
    });
    const connections = new Map<string, Set<number>>();
    await openGateWhenAllHold(run, log, gate, nodes.flatMap((node) => Array.from({ length: cpusPerNode }, (_, local) => `${node.name}:cpu:${local}`)), async () => {
      // The hosts are on other machines: without --listen the controller listens over TCP, on its bridge address.
      const endpoint = /listening on tcp:\/\/([\d.]+:\d+);/.exec(run.stderrSoFar())?.[1];
      expect(endpoint, run.stderrSoFar()).toMatch(new RegExp(`^${bridgeAddress.replaceAll('.', '\\.')}:\\d+$`));
      const ours = new Set(survivors(run.marker));
      for (const node of nodes) {
        const pids = (await nodeConnections(node.name)).filter((found) => found.peer === endpoint && ours.has(found.pid)).map((found) => found.pid);
        connections.set(node.name, new Set(pids));
      }
    });
    const result = await run.done;
    expect(result.exitCode, result.stderr).toBe(0);
    expect(result.stderr).toContain(`the device hosts connect over TCP to ${bridgeAddress}, this machine's address on the route to ${nodes[0]?.name} (--listen chooses another)`);
    // On every node, each device's host and replica hold TCP connections to the controller's one port.
    for (const node of nodes) expect(connections.get(node.name)?.size, `processes of the run on ${node.name} connected over TCP`).toBeGreaterThanOrEqual(2 * cpusPerNode);
    expect(result.stderr).toMatch(new RegExp(`slurm: ${nodes.length * cpusPerNode} device host\\(s\\) on ${nodes.map((node) => node.name).join(', ')} \\(job \\d+\\), each an srun step of its own`));
    const lines = outputOf(output);
    expectEveryItemOnce(lines, 2000);
    expect(nodesUsed(lines)).toEqual(new Set(nodes.map((node) => node.name)));
    for (const node of nodes) expect(result.stderr, 'a summary row per device, named by node').toMatch(new RegExp(`\\n${node.name}:cpu:0 +1 +\\d+ +0`));

    const local = path.join(dir, 'local.jsonl');
    const here = await runCli(['--script', WHERE, '--inputs', items, '--output', local, '--gpus', `cpu:${cpusPerNode}`, '--batch-size', '16']);
    expect(here.exitCode, here.stderr).toBe(0);
    const compared = await runCli(['compare', output, local, '--ignore', 'result.host']);
    expect(compared.exitCode, compared.stdout).toBe(0);
  });

  it('inside an allocation with --gpus all it is chosen without being asked, and says so', async () => {
    const { nodes } = cluster();
    const dir = scratchDir('go-slurm-auto-');
    // The test nodes have no GPU: the allocation's GPU variable stands for two per node.
    const result = await runCli(['--script', WHERE, '--inputs', writeItems(dir, 3), '--output', path.join(dir, 'out.jsonl'), '--dry-run'], {
      wrapper: inAllocation(nodes.length, 1),
      env: { SLURM_GPUS_ON_NODE: '2' },
    });
    expect(result.exitCode, result.stderr).toBe(0);
    expect(result.stderr).toMatch(/SLURM_JOB_ID=\d+ and --gpus all: starting the device hosts with srun on every node of the allocation \(--launcher slurm\)/);
    expect(result.stdout).toMatch(/launcher: slurm \(srun, one step per host, job \d+\)/);
    expect(result.stdout).toMatch(/devices: {2}4\n {2}gpo-n1:cuda:0 .*\n {2}gpo-n1:cuda:1 .*\n {2}gpo-n2:cuda:0 .*\n {2}gpo-n2:cuda:1 /);
  });

  it("a node's link set down mid-run: the run completes on the other node, every item once, the summary names the node", async () => {
    const { nodes, cpusPerNode } = cluster();
    const [, victim] = nodes.map((node) => node.name) as [string, string];
    const dir = scratchDir('go-slurm-link-');
    const [gate, log] = [path.join(dir, 'gate'), path.join(dir, 'started.log')];
    writeFileSync(gate, '');
    const output = path.join(dir, 'out.jsonl');
    const count = 400;
    const run = startCli(
      ['--script', WHERE, '--inputs', writeItems(dir, count), '--output', output, '--launcher', 'slurm', '--gpus', `cpu:${cpusPerNode}`, '--batch-size', '4',
        '--opt', `gate=${gate}`, '--opt', 'gate_from=100', '--opt', `log=${log}`],
      { wrapper: inAllocation(nodes.length, cpusPerNode) },
    );
    try {
      // Every host has started items, and holds some behind the gate: the run cannot end without the test.
      const devices = nodes.flatMap((node) => Array.from({ length: cpusPerNode }, (_, local) => `${node.name}:cpu:${local}`));
      await waitFor(() => devices.every((device) => started(log).some((entry) => entry.device === device)), 'every host to start items', 150_000);
      await waitFor(() => linesSoFar(output) >= 100, 'the items before the gate', 60_000);
      await setLink(victim, 'down');
      // Its hosts stop sending heartbeats: the controller gives up on them after 20 s and kills their sruns.
      await waitFor(() => new RegExp(`${victim}:cpu:\\d: the device host on ${victim} is gone`).test(run.stderrSoFar()), `the hosts on ${victim} to be lost`, 150_000);
    } finally {
      rmSync(gate, { force: true });
      await setLink(victim, 'up');
    }
    const result = await run.done;
    expect(result.exitCode, result.stderr).toBe(0);
    const lines = outputOf(output);
    expectEveryItemOnce(lines, count);
    const summary = result.stderr.slice(result.stderr.lastIndexOf('\ndevice '));
    // Cut off, its hosts fall silent: given up on after the heartbeat timeout (20 s), before Slurm
    // itself calls the node down (SlurmdTimeout, 30 s here), which would also end their sruns.
    expect(summary).toMatch(
      new RegExp(`\\n${victim}:cpu:0: its device host was lost: it sent no heartbeat for 20 s \\(hung, its node down, or the network to it cut\\) and was given up on: the device host on ${victim} is gone: its srun was killed by SIGKILL`),
    );
    await waitIdle(180_000);
  }, 420_000);
});

describe('doctor --launcher slurm', () => {
  it('prints one row per node: Python, torch, this version, the script and the first items readable there', async () => {
    const { nodes } = cluster();
    const images = scratchDir('go-doctor-items-');
    for (const name of ['a.png', 'b.png', 'c.png', 'd.png']) writeFileSync(path.join(images, name), 'png');
    const result = await runCli(['doctor', '--launcher', 'slurm', '--script', WHERE, '--inputs', images], { wrapper: inAllocation(nodes.length, 1) });
    expect(result.exitCode, result.stdout + result.stderr).toBe(0);
    const rows = result.stdout.trim().split('\n');
    expect(rows[0]).toMatch(/^node\s+python\s+torch\s+CUDA\s+GPUs\s+gpu-orchestrate\s+script\s+inputs\s+ready$/);
    for (const node of nodes) expect(result.stdout).toMatch(new RegExp(`\\n${node.name}\\s+3\\.\\d+\\.\\d+\\s+\\S+\\s+\\S+.*\\s+0\\.\\d+\\.\\d+\\s+readable\\s+readable \\(3\\)\\s+yes\\n`));
    expect(rows.at(-1)).toBe(`ready: every node (${nodes.length}) can run device hosts`);

    const missing = await runCli(['doctor', '--launcher', 'slurm', '--script', path.join(path.dirname(BIN), 'no-such-script.py')], { wrapper: inAllocation(nodes.length, 1) });
    expect(missing.exitCode).toBe(3);
    expect(missing.stdout).toMatch(/NOT READABLE\s+-\s+no: cannot read .*no-such-script\.py: put it on a filesystem every node shares/);
    // An item that is a path on this machine only (here: on none) is named.
    writeFileSync(path.join(images, 'list.txt'), '/scratch/only-here/a.png\n');
    const local = await runCli(['doctor', '--launcher', 'slurm', '--inputs', path.join(images, 'list.txt')], { wrapper: inAllocation(nodes.length, 1) });
    expect(local.exitCode).toBe(3);
    expect(local.stdout).toMatch(/NOT READABLE \(0 of 1\)\s+no: cannot read the item \/scratch\/only-here\/a\.png: put the inputs on a filesystem every node shares, under the same path/);
  });

  it('outside an allocation, says to run it inside one', async () => {
    const result = await execa('node', [BIN, 'doctor', '--launcher', 'slurm'], { env: { ...clusterEnv(), SLURM_JOB_ID: '' }, reject: false });
    expect(result.exitCode).toBe(2);
    expect(result.stderr).toMatch(/SLURM_JOB_ID is not set.*sbatch script or under salloc/);
  });
});
