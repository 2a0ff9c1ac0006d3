/**
 * --launcher slurm over TCP on the test cluster, where the wire can be attacked and the
 * controller can vanish: a rogue ZeroMQ client on a node (no keys, wrong keys) that connects to
 * the controller's port and sends forged results and garbage gets nothing in; a SIGKILLed
 * controller leaves no process of the run on any node 30 s later, and --resume completes. The
 * hosts connect over TCP without --listen: the slurm launcher chose it for hosts on other nodes.
 */
import { readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { fixture, runCli, scratchDir, startCli, survivors, waitFor, type StartedCli } from '../helpers/cli.js';
import { pythonEnv } from '../../src/workers/python.js';
import { cluster, onNode } from './cluster.js';
import { controllerOf, expectEveryItemOnce, inAllocation, outputOf, processesByNode, srunsOf, started, WHERE, writeItems } from './runs.js';

const COUNT = 200;
const GATE_FROM = 60;
const LISTENING = /listening on tcp:\/\/([\d.]+:\d+);/;

interface Held {
  run: StartedCli;
  args: string[];
  gate: string;
  output: string;
}

/** A run on both nodes, over TCP (no --listen: chosen for remote hosts), whose hosts all hold items behind the gate. */
async function heldRun(prefix: string): Promise<Held> {
  const { nodes, cpusPerNode } = cluster();
  const dir = scratchDir(prefix);
  const [gate, log, output] = [path.join(dir, 'gate'), path.join(dir, 'started.log'), path.join(dir, 'out.jsonl')];
  writeFileSync(gate, '');
  const args = ['--script', WHERE, '--inputs', writeItems(dir, COUNT), '--output', output, '--launcher', 'slurm', '--gpus', `cpu:${cpusPerNode}`, '--batch-size', '2'];
  const run = startCli([...args, '--opt', `gate=${gate}`, '--opt', `gate_from=${GATE_FROM}`, '--opt', `log=${log}`], { wrapper: inAllocation(nodes.length, cpusPerNode) });
  await waitFor(() => new Set(started(log).filter((entry) => entry.value >= GATE_FROM).map((entry) => entry.device)).size === nodes.length * cpusPerNode, 'every host to hold a gated item', 150_000);
  expect(run.stderrSoFar()).toMatch(LISTENING);
  return { run, args, gate, output };
}

/** The run's server public key, as a host of the run was given it (root may read any environment). It is public: a rogue may know it. */
function serverPublicKey(marker: string): string {
  for (const pid of survivors(marker)) {
    try {
      const variable = readFileSync(`/proc/${pid}/environ`, 'latin1').split('\0').find((entry) => entry.startsWith('GPU_ORCHESTRATE_HOST_CONFIG='));
      const key = variable && (JSON.parse(variable.slice(variable.indexOf('=') + 1)) as { curve?: { server_public?: string } }).curve?.server_public;
      if (key) return key;
    } catch {
      // gone, or not a host
    }
  }
  throw new Error(`no process of run ${marker} holds its launch config`);
}

describe('--launcher slurm over TCP', () => {
  it('rogue clients on a node (no keys, a wrong server key, a keypair not of this run) that send forged results and garbage get nothing in; the run completes', async () => {
    const [, second] = cluster().nodes.map((node) => node.name) as [string, string];
    const held = await heldRun('go-slurm-rogue-');
    try {
      const endpoint = `tcp://${LISTENING.exec(held.run.stderrSoFar())?.[1]}`;
      const rogue = await onNode(second, 'python3', [fixture('rogue_client.py'), endpoint, serverPublicKey(held.run.marker)], { env: pythonEnv() });
      expect(rogue.exitCode, String(rogue.stderr)).toBe(0);
      const attempts = String(rogue.stdout).trim().split('\n').map((line) => JSON.parse(line) as { keys: string; routing_id: string | null; handshake: string });
      expect(attempts).toHaveLength(9); // 3 key sets x (a replica's id, a host's id, none)
      for (const attempt of attempts) expect(attempt.handshake, JSON.stringify(attempt)).toMatch(/^failed/);
    } finally {
      rmSync(held.gate, { force: true });
    }
    const result = await held.run.done;
    expect(result.exitCode, result.stderr).toBe(0);
    const lines = outputOf(held.output);
    expectEveryItemOnce(lines, COUNT);
    expect(JSON.stringify(lines)).not.toContain('forged');
    expect(result.stderr).not.toMatch(/ignored|malformed|unfinished item/); // nothing of theirs reached the run
  });

  it('the controller SIGKILLed mid-run: no process of the run on any node 30 s later; --resume completes', async () => {
    const { nodes, cpusPerNode } = cluster();
    const held = await heldRun('go-slurm-kill-');
    const { marker } = held.run;
    process.kill(controllerOf(marker), 'SIGKILL');
    const killedAt = Date.now();
    // The gate stays shut: the hosts hold their items and leave only because the controller is gone.
    // Here salloc then ends and Slurm ends the job's steps; a host that outlived that (or whose job
    // goes on, as a batch script's may) hears the silence within the heartbeat timeout (test/e2e/tcp.test.ts).
    const left = () => [...processesByNode(marker).entries()].filter(([node]) => node !== undefined);
    await waitFor(() => left().length === 0 && srunsOf(marker).length === 0, 'every process of the run to leave the nodes', 30_000).catch(() => undefined);
    expect(left(), `processes of the run on a node ${(Date.now() - killedAt) / 1000} s after the controller died`).toEqual([]);
    expect(srunsOf(marker), 'sruns of the run still running').toEqual([]);
    rmSync(held.gate, { force: true });
    await held.run.done;
    expect(readdirSync(held.run.tmp), 'the killed controller could not remove its run folder').toHaveLength(1);
    // In the same TMPDIR, the next run removes the folder of the run that is gone.
    const resumed = await runCli([...held.args, '--resume'], { wrapper: inAllocation(nodes.length, cpusPerNode), env: { TMPDIR: held.run.tmp } });
    expect(resumed.exitCode, resumed.stderr).toBe(0);
    expectEveryItemOnce(outputOf(held.output), COUNT);
    expect(readdirSync(held.run.tmp)).toEqual([]);
  });
});
