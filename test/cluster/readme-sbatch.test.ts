/**
 * The README's sbatch script, submitted as printed to the test cluster (only what a CPU cluster
 * and a test must change put in: no GPUs, so --launcher slurm --gpus cpu:2 (--gpus all would
 * choose it by itself); the paths; a gate that holds the run): the time
 * limit's warning (USR2 to the batch shell, as --signal=B:USR2@120 sends it) stops the run as
 * Ctrl-C does, the script puts the job back in the queue, and Slurm's second start resumes it to
 * every item once.
 */
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { execa } from 'execa';
import { describe, expect, it } from 'vitest';
import { BIN, ROOT, scratchDir, waitFor } from '../helpers/cli.js';
import { MARKER_VARIABLE } from '../helpers/processes.js';
import { cluster, clusterEnv } from './cluster.js';
import { expectEveryItemOnce, nodesUsed, outputOf, started, TEST_JOB_NAME, WHERE, writeItems } from './runs.js';

/** The indented block that follows the first README line containing `marker`, dedented. */
function readmeBlock(marker: string): string {
  const lines = readFileSync(path.join(ROOT, 'README.md'), 'utf8').split('\n');
  let at = lines.findIndex((line) => line.includes(marker)) + 1;
  if (at === 0) throw new Error(`README.md has no line with ${JSON.stringify(marker)}`);
  while (lines[at]?.trim() === '') at += 1;
  const block: string[] = [];
  for (; at < lines.length && (lines[at]?.startsWith('    ') || lines[at]?.trim() === ''); at += 1) block.push((lines[at] ?? '').slice(4));
  return `${block.join('\n').trimEnd()}\n`;
}

function put(text: string, literal: string, value: string): string {
  expect(text, `the README's sbatch script should contain ${literal}`).toContain(literal);
  return text.split(literal).join(value);
}

async function jobState(job: string): Promise<{ state: string; restarts: number }> {
  const shown = String((await execa('scontrol', ['show', 'job', job], { env: clusterEnv(), reject: false })).stdout);
  return { state: /JobState=(\S+)/.exec(shown)?.[1] ?? 'UNKNOWN', restarts: Number(/Restarts=(\d+)/.exec(shown)?.[1] ?? -1) };
}

describe("the README's sbatch script", () => {
  it('a time limit\'s warning stops the run cleanly, the job requeues itself, and the next start finishes it: every item once', async () => {
    const { nodes, cpusPerNode } = cluster();
    const dir = scratchDir('go-sbatch-');
    const [gate, log, output] = [path.join(dir, 'gate'), path.join(dir, 'started.log'), path.join(dir, 'matches.jsonl')];
    const items = writeItems(dir, 300);
    writeFileSync(gate, '');
    let script = readmeBlock('A complete batch script');
    script = put(script, '#SBATCH --gpus-per-node=4\n', '');
    script = put(script, '--ntasks-per-node=4', `--ntasks-per-node=${cpusPerNode}`);
    script = put(script, '--cpus-per-task=8', '--cpus-per-task=1');
    script = put(script, '--job-name=match-pairs', `--job-name=${TEST_JOB_NAME}`);
    script = put(script, 'gpu-orchestrate --script /shared/match.py', `node ${BIN} --launcher slurm --gpus cpu:${cpusPerNode} --opt gate=${gate} --opt gate_from=100 --opt log=${log} --script ${WHERE}`);
    script = put(script, '/shared/pairs.jsonl', items);
    script = put(script, '/shared/matches.jsonl', output);
    writeFileSync(path.join(dir, 'job.sh'), script);

    const marker = `go-sbatch-${process.pid}-${Date.now()}`;
    const submitted = await execa('sbatch', ['--parsable', `--chdir=${dir}`, path.join(dir, 'job.sh')], { env: { ...clusterEnv(), [MARKER_VARIABLE]: marker } });
    const job = submitted.stdout.trim().split(';')[0] as string;
    try {
      const devices = nodes.flatMap((node) => Array.from({ length: cpusPerNode }, (_, local) => `${node.name}:cpu:${local}`));
      await waitFor(() => devices.every((device) => started(log).some((entry) => entry.device === device && entry.value >= 100)), 'every host to hold an item at the gate', 150_000);
      // What --signal=B:USR2@120 does 120 s before the time limit: USR2 to the batch shell alone.
      await execa('scancel', ['--batch', '--signal=USR2', job], { env: clusterEnv() });
      const jobLog = path.join(dir, `match-pairs-${job}.log`);
      await waitFor(() => /SIGUSR2: no new work; waiting up to 90 s/.test(readFileSync(jobLog, 'utf8')), 'the run to stop handing out work', 60_000);
      rmSync(gate, { force: true });
      // The script requeues the job; Slurm starts it again, and --resume finishes the output.
      let released = false;
      for (let polls = 0; polls < 600; polls += 1) {
        const { state, restarts } = await jobState(job);
        if (state === 'PENDING' && restarts === 1 && !released) {
          // Slurm holds a requeued job for about two minutes (its BeginTime): let it start now, but
          // not within the second its first start was killed: slurmd compares a launch's credential
          // with the kill's revocation at one-second resolution, and refuses a credential made in
          // the same second ("Job N already killed, do not launch batch job": the job FAILED).
          await sleep(2_000);
          released = (await execa('scontrol', ['update', `JobId=${job}`, 'StartTime=now'], { env: clusterEnv(), reject: false })).exitCode === 0;
        }
        if (state === 'COMPLETED' || state === 'FAILED' || state === 'CANCELLED') {
          expect({ state, restarts }, `the job's log:\n${readFileSync(jobLog, 'utf8')}`).toEqual({ state: 'COMPLETED', restarts: 1 });
          break;
        }
        await sleep(500);
      }
      const said = readFileSync(jobLog, 'utf8'); // the second start's (Slurm may start the file again)
      expect(said).toMatch(/resuming .*matches\.jsonl: \d+ item\(s\) already done, \d+ to run/);
      const lines = outputOf(output);
      expectEveryItemOnce(lines, 300);
      expect(nodesUsed(lines)).toEqual(new Set(nodes.map((node) => node.name)));
      for (const line of started(log)) expect(lines.some((written) => (written.input as { value: number }).value === line.value)).toBe(true);
    } finally {
      rmSync(gate, { force: true });
      await execa('scancel', [job], { env: clusterEnv(), reject: false });
    }
  }, 600_000);
});
