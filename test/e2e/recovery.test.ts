/**
 * Nothing lost: out-of-memory, crashes, hangs, Ctrl-C, a killed controller and resume, on CPU
 * devices with the real CLI. Each test checks what a user would: the output holds every input
 * exactly once, the failures say why, and no process of the run outlives it.
 */
import { existsSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { fixture, hostPids, isAlive, jsonlItems, logLines, readOutput, runCli, scratchDir, startCli, survivors, waitFor } from '../helpers/cli.js';

function itemsFile(dir: string, count: number): string {
  const file = path.join(dir, 'items.jsonl');
  writeFileSync(file, jsonlItems(count));
  return file;
}

function expectEachIdOnce(output: string, count: number): ReturnType<typeof readOutput> {
  const lines = readOutput(output);
  expect(lines).toHaveLength(count);
  expect(new Set(lines.map((line) => line.id))).toEqual(new Set(Array.from({ length: count }, (_, index) => `item-${index}`)));
  return lines;
}

async function expectNoSurvivors(marker: string): Promise<void> {
  // Children watch their parent; give them the few seconds the guarantee allows.
  await waitFor(() => survivors(marker).length === 0, `no process of run ${marker} to be left`, 5_000).catch(() => undefined);
  expect(survivors(marker), 'host or replica processes outlived the run').toEqual([]);
}

/** Kills every half second up to this many; then the run must recover and finish. */
const CHAOS_KILLS = 8;

describe('chaos: replicas SIGKILLed while they work', () => {
  it(`2000 items on cpu:2 with two replicas per device, a replica killed every half second (${CHAOS_KILLS} kills): 2000 ok lines, each id once`, { timeout: 300_000 }, async () => {
    const dir = scratchDir();
    const log = path.join(dir, 'replicas.log');
    const output = path.join(dir, 'out.jsonl');
    const run = startCli(['--script', fixture('logged_echo.py'), '--inputs', itemsFile(dir, 2000), '--output', output, '--gpus', 'cpu:2', '--workers-per-gpu', '2', '--batch-size', '8', '--opt', `log=${log}`, '--opt', 'delay=0.01']);
    let finished = false;
    void run.done.then(() => {
      finished = true;
    });
    await waitFor(() => logLines(log).some((line) => line.startsWith('ready')) || finished, 'a replica to be ready');
    const killed: number[] = [];
    // Restarting a replica takes seconds (spawn, import torch, setup): kills without end would
    // outpace recovery on a loaded machine, so the chaos stops after CHAOS_KILLS.
    while (!finished && killed.length < CHAOS_KILLS) {
      // The replicas that finished setup and are still alive: pick one at random.
      const working = logLines(log)
        .filter((line) => line.startsWith('ready'))
        .map((line) => Number(line.split(' ')[1]))
        .filter((pid) => !killed.includes(pid) && isAlive(pid));
      const victim = working[Math.floor(Math.random() * working.length)];
      if (victim !== undefined) {
        process.kill(victim, 'SIGKILL');
        killed.push(victim);
      }
      await new Promise((resolve) => setTimeout(resolve, 500));
    }
    const result = await run.done;
    expect(killed.length, 'the run ended before five replicas were killed: make it longer').toBeGreaterThanOrEqual(5);
    expect(result.stderr).toMatch(/was killed by SIGKILL/);
    expect(result.exitCode, result.stderr).toBe(0);
    const lines = expectEachIdOnce(output, 2000);
    expect(lines.every((line) => line.ok)).toBe(true);
    expect(lines.some((line) => line.attempts > 1), 'no item was retried: the kills hit nothing in flight').toBe(true);
    await expectNoSurvivors(result.marker);
  });
});

describe('CUDA out-of-memory', () => {
  it('--batch-size 16 with a model that fits 4: every item completes and the summary shows the adapted batch size', async () => {
    const dir = scratchDir();
    const output = path.join(dir, 'out.jsonl');
    const result = await runCli(['--script', fixture('out_of_memory.py'), '--inputs', itemsFile(dir, 160), '--output', output, '--gpus', 'cpu:2', '--batch-size', '16', '--opt', 'max_batch=4']);
    expect(result.exitCode, result.stderr).toBe(0);
    const lines = expectEachIdOnce(output, 160);
    for (const line of lines) expect(line.result).toBe((line.input as { value: number }).value * 2);
    // Halving finds a size that fits, not always the largest: 16 -> 8 -> 4, but an end-game
    // batch of 6 splits into 3 + 3. Never above what fits, never down to nothing.
    expect(result.stderr).toMatch(/cpu:0: batch size lowered to [1-4] after out-of-memory/);
    expect(result.stderr).toMatch(/cpu:1: batch size lowered to [1-4] after out-of-memory/);
    expect(result.stderr).toMatch(/^cpu:0 +1 +\d+ +0 +0 +0 +[\d.]+ (items\/s|s\/item) +[1-4] /m); // the summary's batch column
    await expectNoSurvivors(result.marker);
  });

  it('an item that runs out of memory even alone: one failed line with the reason and the devices tried; all others succeed', async () => {
    const dir = scratchDir();
    const output = path.join(dir, 'out.jsonl');
    const result = await runCli(['--script', fixture('out_of_memory.py'), '--inputs', itemsFile(dir, 60), '--output', output, '--gpus', 'cpu:2', '--batch-size', '8', '--opt', 'always=item-13']);
    expect(result.exitCode).toBe(1);
    const lines = expectEachIdOnce(output, 60);
    const failed = lines.filter((line) => !line.ok);
    expect(failed.map((line) => line.id)).toEqual(['item-13']);
    expect(failed[0]?.error?.type).toBe('OutOfMemoryError');
    expect(failed[0]?.error?.message).toMatch(/out of memory on cpu:\d, cpu:\d \(3 tries\), even alone in its batch: CUDA out of memory/);
    expect(failed[0]?.attempts).toBe(3); // 1 + --retries (2)
    expect(result.stderr).toMatch(/^60 items \(59 ok, 1 failed\) in .*; failed by reason: OutOfMemoryError: 1$/m);
    expect(result.stderr).toMatch(/To run only them again:\n\s+gpu-orchestrate .*--retry-failed/);
    await expectNoSurvivors(result.marker);
  });
});

describe('a replica that crashes or hangs', () => {
  it('an item that segfaults its replica is failed after two deaths; all others succeed', async () => {
    const dir = scratchDir();
    const output = path.join(dir, 'out.jsonl');
    const result = await runCli(['--script', fixture('segfault_on.py'), '--inputs', itemsFile(dir, 40), '--output', output, '--gpus', 'cpu:2', '--batch-size', '4', '--opt', 'item=item-7']);
    expect(result.exitCode).toBe(1);
    const lines = expectEachIdOnce(output, 40);
    const failed = lines.filter((line) => !line.ok);
    expect(failed.map((line) => line.id)).toEqual(['item-7']);
    expect(failed[0]?.error?.type).toBe('WorkerDied');
    expect(failed[0]?.error?.message).toMatch(/the worker died twice while running it: SIGSEGV/);
    for (const line of lines.filter((entry) => entry.ok)) expect(line.result).toBe((line.input as { value: number }).value * 2);
    expect(result.stderr).toMatch(/was killed by SIGSEGV/);
    await expectNoSurvivors(result.marker);
  });

  it('an item that hangs, with --timeout 2: failed "timed out", the others succeed, and the run ends', async () => {
    const dir = scratchDir();
    const output = path.join(dir, 'out.jsonl');
    const started = Date.now();
    const result = await runCli(['--script', fixture('hangs_on.py'), '--inputs', itemsFile(dir, 30), '--output', output, '--gpus', 'cpu:2', '--batch-size', '4', '--timeout', '2', '--opt', 'item=item-3']);
    const seconds = (Date.now() - started) / 1000;
    expect(result.exitCode).toBe(1);
    const lines = expectEachIdOnce(output, 30);
    const failed = lines.filter((line) => !line.ok);
    expect(failed.map((line) => line.id)).toEqual(['item-3']);
    expect(failed[0]?.error?.type).toBe('Timeout');
    expect(failed[0]?.error?.message).toMatch(/timed out after 2 s, 3 times/);
    // Bounded: three timeouts of 2-8 s and three restarts, not forever.
    expect(seconds).toBeLessThan(90);
    await expectNoSurvivors(result.marker);
  });

  it('a device whose setup always crashes is taken out; the run completes on the other device and says so', async () => {
    const dir = scratchDir();
    const output = path.join(dir, 'out.jsonl');
    const result = await runCli(['--script', fixture('setup_crashes_on.py'), '--inputs', itemsFile(dir, 100), '--output', output, '--gpus', 'cpu:2', '--batch-size', '2', '--opt', 'device=cpu:1', '--opt', 'delay=0.12']);
    expect(result.exitCode, result.stderr).toBe(0);
    const lines = expectEachIdOnce(output, 100);
    expect(lines.every((line) => line.ok && line.device === 'cpu:0')).toBe(true);
    expect(result.stderr).toMatch(/cpu:1 is taken out of the run: its replicas failed to start 3 times in a row \(the last: setup\(\) raised RuntimeError: CUDA error: an illegal memory access/);
    expect(result.stderr).toMatch(/cpu:1 \(out\)/); // the summary row
    await expectNoSurvivors(result.marker);
  });
});

describe('a device host that dies or goes silent', () => {
  async function runWithHostTrouble(trouble: (host: number) => void, env: Record<string, string> = {}) {
    const dir = scratchDir();
    const output = path.join(dir, 'out.jsonl');
    const log = path.join(dir, 'replicas.log');
    const run = startCli(['--script', fixture('logged_echo.py'), '--inputs', itemsFile(dir, 600), '--output', output, '--gpus', 'cpu:2', '--batch-size', '4', '--opt', `log=${log}`, '--opt', 'delay=0.02'], { env });
    await waitFor(() => existsSync(output) && readOutput(output).length >= 40, '40 lines in the output');
    const hosts = hostPids(run.marker);
    expect(hosts).toHaveLength(2);
    trouble(hosts[0] as number);
    const result = await run.done;
    const lines = expectEachIdOnce(output, 600);
    expect(lines.every((line) => line.ok)).toBe(true);
    await expectNoSurvivors(result.marker);
    return result;
  }

  it('a host SIGKILLed mid-run: its work goes back to the queue, it is restarted, every item completes', async () => {
    const result = await runWithHostTrouble((host) => process.kill(host, 'SIGKILL'));
    expect(result.exitCode, result.stderr).toBe(0);
    expect(result.stderr).toMatch(/cpu:\d: the device host \(pid \d+\) was killed by SIGKILL/);
    expect(result.stderr).toMatch(/device\s+replicas[^\n]*\n(cpu:\d\s+\d+\s+\d+\s+\d+\s+\d+\s+1\s)/); // one restart in the summary
  });

  it('a host that stops answering (SIGSTOP) is found by its missing heartbeats, killed and restarted', async () => {
    const result = await runWithHostTrouble((host) => process.kill(host, 'SIGSTOP'), { GPU_ORCHESTRATE_HEARTBEAT_TIMEOUT: '3' });
    expect(result.exitCode, result.stderr).toBe(0);
    expect(result.stderr).toMatch(/the device host \(pid \d+\) sent no heartbeat for 3 s \(hung or stopped\); killing it to start it again/);
  });
});

describe('interrupted runs and --resume', () => {
  const args = (dir: string, output: string, log: string) => ['--script', fixture('logged_echo.py'), '--inputs', path.join(dir, 'items.jsonl'), '--output', output, '--gpus', 'cpu:2', '--batch-size', '4', '--opt', `log=${log}`, '--opt', 'delay=0.01'];

  it('Ctrl-C stops handing out work, writes what finished and says how to resume; --resume does only the rest', async () => {
    const dir = scratchDir();
    itemsFile(dir, 800);
    const output = path.join(dir, 'out.jsonl');
    const firstLog = path.join(dir, 'first.log');
    const first = startCli(args(dir, output, firstLog));
    await waitFor(() => existsSync(output) && readOutput(output).length >= 100, '100 lines in the output');
    first.subprocess.kill('SIGINT');
    const interrupted = await first.done;
    expect(interrupted.exitCode).toBe(130);
    expect(interrupted.stderr).toMatch(/SIGINT: no new work/);
    expect(interrupted.stderr).toMatch(/interrupted: \d+ of 800 items are in .*out\.jsonl\. To continue:\n\s+gpu-orchestrate .*--resume/);
    await expectNoSurvivors(interrupted.marker);
    const doneBefore = new Set(readOutput(output).filter((line) => line.ok).map((line) => line.id));
    expect(doneBefore.size).toBeGreaterThanOrEqual(100);
    expect(doneBefore.size).toBeLessThan(800);

    const secondLog = path.join(dir, 'second.log');
    const resumed = await runCli([...args(dir, output, secondLog), '--resume']);
    expect(resumed.exitCode, resumed.stderr).toBe(0);
    expect(resumed.stderr).toMatch(new RegExp(`resuming .*: ${doneBefore.size} item\\(s\\) already done, ${800 - doneBefore.size} to run`));
    expectEachIdOnce(output, 800);
    const redone = logLines(secondLog).filter((line) => line.startsWith('item')).map((line) => line.split(' ')[2] as string);
    expect(redone.filter((id) => doneBefore.has(id)), 'the resumed run redid finished items').toEqual([]);
    expect(new Set(redone).size).toBe(800 - doneBefore.size);
  });

  it('the controller SIGKILLed mid-run: no host or replica survives it, and --resume completes the output', async () => {
    const dir = scratchDir();
    itemsFile(dir, 600);
    const output = path.join(dir, 'out.jsonl');
    const log = path.join(dir, 'replicas.log');
    const first = startCli([...args(dir, output, log), '--workers-per-gpu', '2']);
    await waitFor(() => existsSync(output) && readOutput(output).length >= 50, '50 lines in the output');
    const replicas = logLines(log).filter((line) => line.startsWith('ready')).map((line) => Number(line.split(' ')[1]));
    expect(replicas.length).toBeGreaterThan(0);
    first.subprocess.kill('SIGKILL');
    await first.done;
    await waitFor(() => survivors(first.marker).length === 0, 'every host and replica to exit', 5_000);
    expect(replicas.filter(isAlive)).toEqual([]);

    const resumed = await runCli([...args(dir, output, path.join(dir, 'second.log')), '--resume']);
    expect(resumed.exitCode, resumed.stderr).toBe(0);
    const lines = expectEachIdOnce(output, 600);
    expect(lines.every((line) => line.ok)).toBe(true);
  });

  it('a second Ctrl-C stops at once, even while a batch hangs', async () => {
    const dir = scratchDir();
    const output = path.join(dir, 'out.jsonl');
    const run = startCli(['--script', fixture('hangs_on.py'), '--inputs', itemsFile(dir, 40), '--output', output, '--gpus', 'cpu:1', '--batch-size', '4', '--opt', 'item=item-20']);
    await waitFor(() => existsSync(output) && readOutput(output).length >= 20, 'the items before the hanging one');
    run.subprocess.kill('SIGINT'); // waits up to --grace (30 s) for the hanging batch
    await new Promise((resolve) => setTimeout(resolve, 500));
    const second = Date.now();
    run.subprocess.kill('SIGINT');
    const result = await run.done;
    expect(result.exitCode).toBe(130);
    expect(result.stderr).toMatch(/SIGINT again: stopping at once/);
    expect((Date.now() - second) / 1000).toBeLessThan(15); // not the 30 s grace
    expect(readOutput(output).map((line) => line.id)).not.toContain('item-20');
    await expectNoSurvivors(result.marker);
  });

  it('an existing output is never clobbered without --resume or --overwrite', async () => {
    const dir = scratchDir();
    const output = path.join(dir, 'out.jsonl');
    writeFileSync(output, '{"id": "item-0", "ok": true}\n');
    const result = await runCli(['--script', fixture('echo.py'), '--inputs', itemsFile(dir, 5), '--output', output, '--gpus', 'cpu:1']);
    expect(result.exitCode).toBe(2);
    expect(result.stderr).toMatch(/already exists\. Pass --resume to continue it .* or --overwrite to start it again/);
    expect(readOutput(output)).toHaveLength(1);
  });
});
