/**
 * Preemption and time limits under Slurm. SIGUSR2 (sbatch --signal=B:USR2@120 sends it to the
 * batch shell, which passes it on) stops the run as Ctrl-C does: the batches running get the
 * grace and are written, the hosts are stopped on every node, and --resume finishes the output.
 * The hosts and replicas under srun outlive a SIGTERM to their step. A SIGTERM to every process
 * of the job reaches srun too, which kills its step at once (srun(1)): the run then stops without
 * waiting for the batches that were cut, and --resume runs them.
 */
import { rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { execa } from 'execa';
import { describe, expect, it } from 'vitest';
import { runCli, scratchDir, startCli, waitFor, type StartedCli } from '../helpers/cli.js';
import { cluster, clusterEnv } from './cluster.js';
import { controllerOf, expectEveryItemOnce, inAllocation, jobOfRun, outputOf, processesByNode, srunsOf, started, WHERE, writeItems } from './runs.js';

const COUNT = 200;
const GATE_FROM = 60;

interface Held {
  run: StartedCli;
  /** The same run without the gate: how --resume continues it. */
  resumeArgs: string[];
  dir: string;
  gate: string;
  log: string;
  output: string;
}

/** A run on both nodes whose hosts all hold items behind the gate: running batches, nothing can end. */
async function heldRun(): Promise<Held> {
  const { nodes, cpusPerNode } = cluster();
  const dir = scratchDir('go-slurm-signal-');
  const gate = path.join(dir, 'gate');
  const log = path.join(dir, 'started.log');
  const output = path.join(dir, 'out.jsonl');
  writeFileSync(gate, '');
  const args = ['--script', WHERE, '--inputs', writeItems(dir, COUNT), '--output', output, '--launcher', 'slurm', '--gpus', `cpu:${cpusPerNode}`, '--batch-size', '2', '--grace', '60'];
  const run = startCli([...args, '--opt', `gate=${gate}`, '--opt', `gate_from=${GATE_FROM}`, '--opt', `log=${log}`], { wrapper: inAllocation(nodes.length, cpusPerNode) });
  // Every host is holding a gated item: each has a batch running.
  await waitFor(() => new Set(started(log).filter((entry) => entry.value >= GATE_FROM).map((entry) => entry.device)).size === nodes.length * cpusPerNode, 'every host to hold a gated item', 150_000);
  return { run, resumeArgs: [...args, '--resume'], dir, gate, log, output };
}

/** After the signal: the gate opens, the run drains (exit 130), every item that had started is written, nothing is left on any node. */
async function expectDrained(held: Held): Promise<void> {
  await waitFor(() => /no new work; waiting up to 60 s for the \d+ item\(s\) in flight/.test(held.run.stderrSoFar()), 'the controller to stop handing out work', 30_000);
  rmSync(held.gate, { force: true });
  const result = await held.run.done;
  expect(result.exitCode, result.stderr).toBe(130);
  expect(result.stderr).toMatch(/interrupted: \d+ of 200 items are in .*To continue:\n {2}gpu-orchestrate .*--resume/);
  const written = new Set(outputOf(held.output).map((line) => (line.input as { value: number }).value));
  const begun = started(held.log).map((entry) => entry.value);
  expect(begun.filter((value) => !written.has(value)), 'items that started but were not written').toEqual([]);
  expect(written.size).toBeLessThan(COUNT);
  await waitFor(() => processesByNode(result.marker).size === 0, 'the processes of the run to be gone from every node', 10_000).catch(() => undefined);
  expect([...processesByNode(result.marker).entries()], 'processes of the run left, by node').toEqual([]);

  const { nodes, cpusPerNode } = cluster();
  const resumed = await runCli(held.resumeArgs, { wrapper: inAllocation(nodes.length, cpusPerNode) });
  expect(resumed.exitCode, resumed.stderr).toBe(0);
  expectEveryItemOnce(outputOf(held.output), COUNT);
}

describe("--launcher slurm and Slurm's signals", () => {
  it('SIGUSR2 to the controller (sbatch --signal=B:USR2@120): the grace, everything written, hosts stopped on every node', async () => {
    const held = await heldRun();
    try {
      process.kill(controllerOf(held.run.marker), 'SIGUSR2');
      await expectDrained(held);
    } finally {
      rmSync(held.gate, { force: true });
    }
  }, 400_000);

  it("SIGTERM to the job's steps (scancel --signal=TERM): the hosts and replicas under srun outlive it, and the run goes on", async () => {
    const held = await heldRun();
    try {
      const job = await jobOfRun();
      const scancel = await execa('scancel', ['--signal=TERM', String(job)], { env: clusterEnv(), reject: false });
      expect(scancel.exitCode, scancel.stderr).toBe(0);
      // Delivered for certain (scancel's goes through slurmd): SIGTERM to every process of the run on the nodes.
      const onNodes = [...processesByNode(held.run.marker).entries()].filter(([node]) => node !== undefined).flatMap(([, pids]) => pids);
      expect(onNodes.length).toBeGreaterThanOrEqual(2 * cluster().nodes.length * cluster().cpusPerNode); // hosts and replicas
      for (const pid of onNodes) {
        try {
          process.kill(pid, 'SIGTERM');
        } catch {
          // already gone, of scancel's SIGTERM: the checks below say so
        }
      }
      rmSync(held.gate, { force: true });
      const result = await held.run.done;
      expect(result.exitCode, result.stderr).toBe(0);
      expect(result.stderr).not.toMatch(/is gone|died|was killed/);
      for (const node of cluster().nodes) expect(result.stderr, 'no retries, no restarts').toMatch(new RegExp(`\\n${node.name}:cpu:0 +1 +\\d+ +0 +0 +0 `));
      expectEveryItemOnce(outputOf(held.output), COUNT);
    } finally {
      rmSync(held.gate, { force: true });
    }
  }, 400_000);

  it('SIGTERM to every process of the job (a time limit without the warning): srun ends its steps at once; the run stops without waiting for them, resumable', async () => {
    const held = await heldRun();
    try {
      const job = await jobOfRun();
      await execa('scancel', ['--signal=TERM', String(job)], { env: clusterEnv(), reject: false });
      // As slurmd does to the batch step: the controller and its sruns, which kill their steps (srun(1)).
      for (const pid of [controllerOf(held.run.marker), ...srunsOf(held.run.marker)]) process.kill(pid, 'SIGTERM');
      const result = await held.run.done;
      expect(result.exitCode, result.stderr).toBe(130);
      expect(result.stderr).toMatch(/interrupted: \d+ of 200 items are in .*To continue:\n {2}gpu-orchestrate .*--resume/);
      await waitFor(() => processesByNode(result.marker).size === 0, 'the processes of the run to be gone from every node', 10_000).catch(() => undefined);
      expect([...processesByNode(result.marker).entries()], 'processes of the run left, by node').toEqual([]);
      rmSync(held.gate, { force: true });
      const { nodes, cpusPerNode } = cluster();
      const resumed = await runCli(held.resumeArgs, { wrapper: inAllocation(nodes.length, cpusPerNode) });
      expect(resumed.exitCode, resumed.stderr).toBe(0);
      expectEveryItemOnce(outputOf(held.output), COUNT);
    } finally {
      rmSync(held.gate, { force: true });
    }
  }, 400_000);
});
