/**
 * What the launcher tests share: items, runs inside a Slurm allocation (salloc, so the controller
 * runs where the command runs, as on a batch host), and checks of a finished output against the
 * nodes it ran on.
 */
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { execa } from 'execa';
import { expect } from 'vitest';
import { BIN, fixture, jsonlItems, readOutput, survivors, waitFor, type OutputLine } from '../helpers/cli.js';
import { clusterEnv, nodeOfProcess } from './cluster.js';

export const WHERE = fixture('where.py');

/** `count` JSONL items {id: item-i, value: i} in a new file of `dir`. */
export function writeItems(dir: string, count: number): string {
  const file = path.join(dir, 'items.jsonl');
  writeFileSync(file, jsonlItems(count));
  return file;
}

/**
 * Runs the CLI inside a new allocation of every node, `perNode` CPUs each, as an sbatch script
 * would: --no-kill, so that a lost node does not end the job (README's Slurm section).
 */
export function inAllocation(nodes: number, perNode: number): string[] {
  return ['salloc', `--nodes=${nodes}`, `--ntasks-per-node=${perNode}`, '--no-kill', '--quiet', `--job-name=${TEST_JOB_NAME}`];
}

/**
 * The name of the tests' allocations. A test that fails kills its run with SIGKILL, salloc
 * included, which then cannot give its allocation back: setup-env.ts cancels them after each test.
 */
export const TEST_JOB_NAME = 'gpu-orchestrate-test';

export interface WhereResult {
  double: number;
  host: string;
}

/** The node a device label names ("gpo-n2:cpu:1" -> "gpo-n2"). */
export function nodeOf(label: string): string {
  return label.split(':')[0] as string;
}

/** Every item once, each answered right, each on the node its device is named after. */
export function expectEveryItemOnce(lines: OutputLine[], count: number): void {
  const ids = lines.map((line) => line.id);
  expect(new Set(ids).size, 'distinct ids').toBe(count);
  expect(lines).toHaveLength(count);
  for (const line of lines) {
    expect(line.ok, `${line.id}: ${JSON.stringify(line.error)}`).toBe(true);
    const value = (line.input as { value: number }).value;
    expect(line.result).toMatchObject({ double: value * 2 });
  }
}

/** The nodes an output's items ran on, by the hostname each host saw; checks it matches the device's name. */
export function nodesUsed(lines: OutputLine[]): Set<string> {
  for (const line of lines) expect((line.result as WhereResult).host, `${line.id} on ${line.device}`).toBe(nodeOf(line.device));
  return new Set(lines.map((line) => (line.result as WhereResult).host));
}

export function outputOf(file: string): OutputLine[] {
  return readOutput(file);
}

/** Lines "DEVICE VALUE" the fixture logged as items started. */
export function started(log: string): { device: string; value: number }[] {
  let text = '';
  try {
    text = readFileSync(log, 'utf8');
  } catch {
    return [];
  }
  return text.split('\n').filter((line) => /^\S+ \d+$/.test(line)).map((line) => {
    const [device, value] = line.split(' ');
    return { device: device as string, value: Number(value) };
  });
}

/**
 * Opens the gate once every one of `devices` has started an item (the fixture logs an item before
 * it waits at the gate): then every node has taken part, however fast the first hosts were.
 */
export async function openGateWhenAllHold(run: { done: Promise<unknown> }, log: string, gate: string, devices: string[], whileHeld?: () => Promise<void>): Promise<void> {
  let ended = false;
  void run.done.finally(() => (ended = true));
  try {
    await waitFor(() => ended || devices.every((device) => started(log).some((entry) => entry.device === device)), `every device (${devices.join(', ')}) to start an item`, 150_000);
    await whileHeld?.(); // every host is up and busy: what to look at before the run may end
  } finally {
    rmSync(gate, { force: true });
  }
}

/** The run's processes by where they run: the controller's namespace (undefined) or a node. */
export function processesByNode(marker: string): Map<string | undefined, number[]> {
  const byNode = new Map<string | undefined, number[]>();
  for (const pid of survivors(marker)) byNode.set(nodeOfProcess(pid), [...(byNode.get(nodeOfProcess(pid)) ?? []), pid]);
  return byNode;
}

/** The pids of a run's processes whose command line (its words) passes `test`. */
function processesWhere(marker: string, test: (argv: string[]) => boolean): number[] {
  return survivors(marker).filter((pid) => {
    try {
      return test(readFileSync(`/proc/${pid}/cmdline`, 'latin1').split('\0'));
    } catch {
      return false;
    }
  });
}

/** The controller of a run (node dist/src/bin.js ...). */
export function controllerOf(marker: string): number {
  const [pid] = processesWhere(marker, (argv) => argv[1] === BIN);
  if (pid === undefined) throw new Error(`no controller is running for ${marker}`);
  return pid;
}

/** The srun processes a run's controller started (one per host). */
export function srunsOf(marker: string): number[] {
  return processesWhere(marker, (argv) => path.basename(argv[0] ?? '') === 'srun');
}

/** The Slurm job of the allocation a run is in (its srun steps' job), from squeue. */
export async function jobOfRun(name = 'gpu-orchestrate:'): Promise<string | undefined> {
  const steps = String((await execa('squeue', ['-h', '-s', '-o', '%i %j'], { env: clusterEnv(), reject: false })).stdout);
  const step = steps.split('\n').find((line) => line.includes(name));
  return step?.split(' ')[0]?.split('.')[0];
}
