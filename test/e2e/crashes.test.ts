/**
 * Replicas that crash or hang, devices that fail or are lost, hosts that die or go silent: every
 * item is still written once (or the run stops with exit 4 and what finished is in the output).
 */
import { mkdirSync, rmSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { expectEachIdOnce, expectNoSurvivors, itemsFile, loggedIds } from '../helpers/checks.js';
import { fixture, hostPids, logLines, readOutput, runCli, scratchDir, startCli, waitFor } from '../helpers/cli.js';

describe('a replica that crashes or hangs', () => {
  it('an item that segfaults its replica is failed after two deaths; all others succeed', async () => {
    const dir = scratchDir();
    const output = path.join(dir, 'out.jsonl');
    const result = await runCli(['--script', fixture('segfault_on.py'), '--inputs', itemsFile(dir, 40), '--output', output, '--gpus', 'cpu:1', '--batch-size', '4', '--opt', 'item=item-7']);
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

  it('a replica that crashes with finished batches whose results it held (batch 1, --prefetch 8: one message of 8 batches): the item that segfaults is failed after two deaths, every other item written once', async () => {
    // The replica runs items 0-4, holding their results to send with the next ones, and dies
    // in item 5: its host names batch 5 from the replica's marker, so items 0-4 run again
    // unpunished, and only item 5 is blamed.
    const dir = scratchDir();
    const output = path.join(dir, 'out.jsonl');
    const result = await runCli(['--script', fixture('segfault_on.py'), '--inputs', itemsFile(dir, 40), '--output', output, '--gpus', 'cpu:1', '--batch-size', '1', '--prefetch', '8', '--opt', 'item=item-5']);
    expect(result.exitCode).toBe(1);
    const lines = expectEachIdOnce(output, 40);
    expect(lines.filter((line) => !line.ok).map((line) => line.id)).toEqual(['item-5']);
    expect(lines.find((line) => !line.ok)?.error?.message).toMatch(/the worker died twice while running it: SIGSEGV/);
    for (const line of lines.filter((entry) => entry.ok)) expect(line.result).toBe((line.input as { value: number }).value * 2);
    // No other item was blamed for a death (blamed, it would have been retried alone: 2 attempts).
    expect(lines.filter((line) => line.ok && line.attempts !== 1).map((line) => line.id)).toEqual([]);
    await expectNoSurvivors(result.marker);
  });

  it('an item that hangs, with --timeout 2 --retries 1: failed "timed out" after 2 tries, the others succeed, and the run ends', async () => {
    const dir = scratchDir();
    const output = path.join(dir, 'out.jsonl');
    const result = await runCli(['--script', fixture('hangs_on.py'), '--inputs', itemsFile(dir, 30), '--output', output, '--gpus', 'cpu:2', '--batch-size', '2', '--timeout', '2', '--retries', '1', '--opt', 'item=item-3']);
    expect(result.exitCode).toBe(1);
    const lines = expectEachIdOnce(output, 30);
    const failed = lines.filter((line) => !line.ok);
    expect(failed.map((line) => line.id)).toEqual(['item-3']);
    expect(failed[0]?.error?.type).toBe('Timeout');
    expect(failed[0]?.error?.message).toMatch(/^timed out after 2 s, 2 times/);
    expect(failed[0]?.attempts).toBe(2);
    await expectNoSurvivors(result.marker);
  });

  it('a device whose setup always crashes is taken out; the run completes on the other device and says so', async () => {
    const dir = scratchDir();
    const output = path.join(dir, 'out.jsonl');
    // cpu:0 holds its first batch until cpu:1's host has exited: the run cannot finish before
    // cpu:1 has failed three starts, however slowly those go.
    const result = await runCli(['--script', fixture('setup_crashes_on.py'), '--inputs', itemsFile(dir, 40), '--output', output, '--gpus', 'cpu:2', '--batch-size', '2', '--opt', 'device=cpu:1', '--opt', `log=${path.join(dir, 'hosts.log')}`]);
    expect(result.exitCode, result.stderr).toBe(0);
    const lines = expectEachIdOnce(output, 40);
    expect(lines.every((line) => line.ok && line.device === 'cpu:0')).toBe(true);
    expect(result.stderr).toMatch(/cpu:1 is taken out of the run: its replicas failed to start 3 times in a row \(the last: setup\(\) raised RuntimeError: CUDA error: an illegal memory access/);
    expect(result.stderr).toMatch(/cpu:1 \(out\)/); // the summary row
    await expectNoSurvivors(result.marker);
  });
});

describe('every device lost part-way', () => {
  it('stops the run with exit 4; what finished is in the output, and --resume --retry-failed completes it once the devices work again', async () => {
    const dir = scratchDir();
    const flags = path.join(dir, 'flags');
    mkdirSync(flags);
    const output = path.join(dir, 'out.jsonl');
    const args = ['--script', fixture('breaks_device.py'), '--inputs', itemsFile(dir, 40), '--output', output, '--gpus', 'cpu:1', '--batch-size', '4', '--opt', `flags=${flags}`];
    // Items 20 and above kill their replica and break its device, the only one: no device is left.
    const result = await runCli([...args, '--opt', 'from=20']);
    expect(result.exitCode, result.stderr).toBe(4);
    expect(result.stderr).toMatch(/no device is left: the last, cpu:0, its replicas failed to start 3 times in a row .*\. \d+ of 40 items are in .*out\.jsonl; --resume continues once the cause is fixed/);
    const written = readOutput(output);
    expect(written.length).toBeGreaterThan(0);
    expect(written.length).toBeLessThan(40);
    expect(new Set(written.map((line) => line.id)).size).toBe(written.length);
    for (const line of written) {
      const value = (line.input as { value: number }).value;
      // An item that ran is in the output; one that killed its replica twice is failed as such.
      if (line.ok) expect(line.result).toBe(value * 2);
      else expect({ value: value >= 20, type: line.error?.type }).toEqual({ value: true, type: 'WorkerDied' });
    }
    await expectNoSurvivors(result.marker);

    rmSync(flags, { recursive: true });
    mkdirSync(flags);
    // --retry-failed also runs again an item failed for killing its replica twice.
    const resumed = await runCli([...args, '--opt', 'from=1000', '--resume', '--retry-failed']);
    expect(resumed.exitCode, resumed.stderr).toBe(0);
    const lines = expectEachIdOnce(output, 40);
    expect(lines.every((line) => line.ok && line.result === (line.input as { value: number }).value * 2)).toBe(true);
  });
});

describe('a device host that dies or goes silent', () => {
  // One device, whose first replica stalls on item-40 until the test has acted: the run can
  // neither end before the trouble nor finish without replacing the host, however slow it is.
  async function runWithHostTrouble(trouble: (host: number, replica: number) => void, env: Record<string, string> = {}) {
    const dir = scratchDir();
    const output = path.join(dir, 'out.jsonl');
    const log = path.join(dir, 'replicas.log');
    const run = startCli(['--script', fixture('logged_echo.py'), '--inputs', itemsFile(dir, 120), '--output', output, '--gpus', 'cpu:1', '--batch-size', '4', '--opt', `log=${log}`, '--opt', 'stall=item-40'], { env });
    await waitFor(() => loggedIds(logLines(log), 'start').includes('item-40'), 'item-40 to start');
    const hosts = hostPids(run.marker);
    expect(hosts).toHaveLength(1);
    const replica = Number(logLines(log).find((line) => line.startsWith('ready '))?.split(' ')[1]);
    trouble(hosts[0] as number, replica);
    const result = await run.done;
    const lines = expectEachIdOnce(output, 120);
    expect(lines.every((line) => line.ok)).toBe(true);
    await expectNoSurvivors(result.marker);
    return result;
  }

  it('a host SIGKILLed mid-run: its work goes back to the queue, it is restarted, every item completes', async () => {
    const result = await runWithHostTrouble((host) => process.kill(host, 'SIGKILL'));
    expect(result.exitCode, result.stderr).toBe(0);
    expect(result.stderr).toMatch(/cpu:0: the device host \(pid \d+\) was killed by SIGKILL/);
    expect(result.stderr).toMatch(/device\s+replicas[^\n]*\ncpu:0\s+1\s+120\s+0\s+\d+\s+1\s/); // one restart in the summary
  });

  it('a device that hangs (host and replica SIGSTOPped) is found by its missing heartbeats, killed and restarted', async () => {
    const result = await runWithHostTrouble(
      (host, replica) => {
        process.kill(host, 'SIGSTOP');
        process.kill(replica, 'SIGSTOP');
      },
      { GPU_ORCHESTRATE_HEARTBEAT_TIMEOUT: '3' },
    );
    expect(result.exitCode, result.stderr).toBe(0);
    expect(result.stderr).toMatch(/cpu:0: the device host \(pid \d+\) sent no heartbeat for 3 s \(hung or stopped\); killing it to start it again/);
  });
});
