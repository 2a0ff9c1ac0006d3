/**
 * CUDA out-of-memory, simulated on CPU devices with the real exception (and its older form):
 * batches are split and the device's batch size lowered to what ran; an item that does not fit
 * even alone is retried --retries more times, then failed with the devices tried.
 */
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { expectEachIdOnce, expectNoSurvivors, itemsFile } from '../helpers/checks.js';
import { fixture, logLines, runCli, scratchDir } from '../helpers/cli.js';

describe('CUDA out-of-memory', () => {
  it.each([
    ['torch.cuda.OutOfMemoryError', 'oom-error'],
    ['the older RuntimeError("CUDA out of memory. ...")', 'runtime'],
  ])('%s: a first batch of 16 with a model that fits 4 is lowered to exactly 4; every item completes', async (_, form) => {
    const dir = scratchDir();
    const output = path.join(dir, 'out.jsonl');
    const log = path.join(dir, 'calls.log');
    // One device: its first batch is surely a full 16 (with two, a late device's first batch can
    // be an end-game batch of a few items, whose halves are smaller than 4).
    const result = await runCli(['--script', fixture('out_of_memory.py'), '--inputs', itemsFile(dir, 160), '--output', output, '--gpus', 'cpu:1', '--batch-size', '16', '--opt', 'max_batch=4', '--opt', `form=${form}`, '--opt', `log=${log}`]);
    expect(result.exitCode, result.stderr).toBe(0);
    const lines = expectEachIdOnce(output, 160);
    for (const line of lines) expect(line.result).toBe((line.input as { value: number }).value * 2);
    const calls = logLines(log);
    expect(calls[0]).toBe('16 oom'); // the first batch was a full one, and did not fit
    // Halving 16 runs 8 (out of memory), then 4 and 4: the largest size that ran is 4.
    expect(result.stderr).toMatch(/^cpu:0: batch size lowered to 4 after out-of-memory \(now 4\)$/m);
    expect(result.stderr).toMatch(/^cpu:0 +1 +160 +0 +0 +0 +\S+ +4 /m); // the summary's batch column
    // Once lowered, no batch ran larger than what fits; only batches sent before the first
    // result (--prefetch 2: two of 16) were split.
    expect(calls.filter((call) => call.endsWith(' ok')).every((call) => Number(call.split(' ')[0]) <= 4)).toBe(true);
    expect(calls.filter((call) => call === '16 oom')).toHaveLength(2);
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
    // Retried on the device it had not tried yet: both are named.
    expect(failed[0]?.error?.message).toMatch(/^out of memory on (cpu:0, cpu:1|cpu:1, cpu:0) \(3 tries\), even alone in its batch: CUDA out of memory/);
    expect(failed[0]?.attempts).toBe(3); // 1 + --retries (2)
    expect(result.stderr).toMatch(/1 failed \(OutOfMemoryError: 1\)/);
    expect(result.stderr).toMatch(/To run only them again:\n\s+gpu-orchestrate .*--retry-failed/);
    await expectNoSurvivors(result.marker);
  });

  it('--retries 3: an item out of memory even alone is tried 1 + 3 times, then failed', async () => {
    const retries = 3;
    const dir = scratchDir();
    const output = path.join(dir, 'out.jsonl');
    const log = path.join(dir, 'calls.log');
    const result = await runCli(['--script', fixture('out_of_memory.py'), '--inputs', itemsFile(dir, 12), '--output', output, '--gpus', 'cpu:1', '--batch-size', '4', '--retries', String(retries), '--opt', 'always=item-5', '--opt', `log=${log}`]);
    expect(result.exitCode).toBe(1);
    const lines = expectEachIdOnce(output, 12);
    const failed = lines.filter((line) => !line.ok);
    expect(failed.map((line) => line.id)).toEqual(['item-5']);
    expect(failed[0]?.attempts).toBe(1 + retries);
    expect(failed[0]?.error?.message).toMatch(new RegExp(`^out of memory on cpu:0 \\(${1 + retries} tries\\), even alone`));
    // Alone in its batch it ran out of memory once per try: the first inside its batch's split.
    expect(logLines(log).filter((call) => call === '1 oom')).toHaveLength(1 + retries);
    await expectNoSurvivors(result.marker);
  });
});
