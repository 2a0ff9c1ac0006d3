/**
 * --launcher external on the test cluster: the controller prints one command; hosts started by
 * hand in two nodes' namespaces (as a Kubernetes Indexed Job would, with JOB_COMPLETION_INDEX)
 * join, one after the run began; one is killed part-way. Every item once.
 */
import { rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { linesSoFar, scratchDir, startCli, waitFor } from '../helpers/cli.js';
import { MARKER_VARIABLE } from '../helpers/processes.js';
import { cluster, nodeProcesses, onNode } from './cluster.js';
import { expectEveryItemOnce, outputOf, started, WHERE, writeItems, type WhereResult } from './runs.js';

const COUNT = 300;
const GATE_FROM = 100;

describe('--launcher external', () => {
  it('hosts started by hand join at any time and get work at once; one killed part-way has its work done by the other', async () => {
    const [first, second] = cluster().nodes.map((node) => node.name) as [string, string];
    const dir = scratchDir('go-external-');
    const gate = path.join(dir, 'gate');
    const log = path.join(dir, 'started.log');
    const output = path.join(dir, 'out.jsonl');
    writeFileSync(gate, '');
    const run = startCli(
      ['--script', WHERE, '--inputs', writeItems(dir, COUNT), '--output', output, '--launcher', 'external', '--ranks', '2', '--listen', cluster().bridgeAddress, '--gpus', 'cpu', '--batch-size', '4',
        '--opt', `gate=${gate}`, '--opt', `gate_from=${GATE_FROM}`, '--opt', `log=${log}`],
      // A host that stops sending heartbeats is given up on after 10 s instead of 30.
      { env: { GPU_ORCHESTRATE_HEARTBEAT_TIMEOUT: '10' } },
    );
    try {
      await waitFor(() => /Start each, on any machine that shares this filesystem, with:\n {2}.+\n/.test(run.stderrSoFar()), 'the command that starts a host', 60_000);
      const command = (/with:\n {2}(.+)\n/.exec(run.stderrSoFar()) as RegExpExecArray)[1] as string;
      expect(command).not.toMatch(/--config|events/);
      // Rank 0 on the first node; the run starts with it alone.
      const env = { [MARKER_VARIABLE]: run.marker, JOB_COMPLETION_INDEX: '0' };
      const rank0 = onNode(first, 'sh', ['-c', command], { env, cwd: dir });
      await waitFor(() => linesSoFar(output) >= 40, 'rank 0 to write 40 items', 120_000);
      // Rank 1 joins later, on the second node, and gets work at once: it starts items too.
      const rank1 = onNode(second, 'sh', ['-c', command], { env: { ...env, JOB_COMPLETION_INDEX: '1' }, cwd: dir });
      await waitFor(() => started(log).some((entry) => entry.device === 'rank1:cpu:0'), 'rank 1 to start items', 120_000);
      // Rank 0 is killed with the items it holds (behind the gate): its host and replicas, at once.
      await waitFor(() => started(log).some((entry) => entry.device === 'rank0:cpu:0' && entry.value >= GATE_FROM), 'rank 0 to hold a gated item', 60_000);
      const held = started(log).filter((entry) => entry.device === 'rank0:cpu:0' && entry.value >= GATE_FROM).map((entry) => entry.value);
      for (const { pid } of nodeProcesses(first).filter((found) => found.command.includes('gpu_orchestrate_worker'))) process.kill(pid, 'SIGKILL');
      await rank0;
      await waitFor(() => /rank0:cpu:0: it sent no heartbeat for 10 s \(hung, its node down, or the network to it cut\) and was given up on: the device host is gone: it left the run/.test(run.stderrSoFar()), 'rank 0 to be given up on', 60_000);
      rmSync(gate, { force: true });
      const result = await run.done;
      expect(result.exitCode, result.stderr).toBe(0);
      const lines = outputOf(output);
      expectEveryItemOnce(lines, COUNT);
      const ranAt = new Map(lines.map((line) => [line.device, (line.result as WhereResult).host]));
      expect(ranAt).toEqual(new Map([['rank0:cpu:0', first], ['rank1:cpu:0', second]]));
      // What rank 0 held when it was killed was done again by rank 1.
      const byValue = new Map(lines.map((line) => [(line.input as { value: number }).value, line.device]));
      expect(held.length).toBeGreaterThan(0);
      for (const value of held) expect(byValue.get(value), `item ${value}`).toBe('rank1:cpu:0');
      expect((await rank1).exitCode).toBe(0); // told to shut down, it exits by itself
    } finally {
      rmSync(gate, { force: true });
    }
  }, 300_000);
});
