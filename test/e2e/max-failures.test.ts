/**
 * --max-failures and --fail-fast on real runs: a broken script over many items stops after the
 * limit as Ctrl-C stops a run (what was in flight is written, nothing is left running), exits 1
 * with why, and --resume runs the rest once the cause is fixed.
 */
import { rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { MAX_CREDIT } from '../../src/scheduler/credit.js';
import { expectEachIdOnce, expectNoSurvivors, itemsFile } from '../helpers/checks.js';
import { fixture, readOutput, runCli, scratchDir } from '../helpers/cli.js';

describe('--max-failures', () => {
  it('5, on 500 items that all fail: stops with 5 + what was in flight written, exit 1, no process left; --resume runs the rest', async () => {
    const dir = scratchDir();
    const broken = path.join(dir, 'weights-missing');
    writeFileSync(broken, '');
    const output = path.join(dir, 'out.jsonl');
    // Batches of one item: the limit is reached by the fifth failed item exactly, and what is in
    // flight then is what the stop message counts.
    const args = ['--script', fixture('fails_while_broken.py'), '--inputs', itemsFile(dir, 500), '--output', output, '--gpus', 'cpu:1', '--opt', `broken=${broken}`];
    const stopped = await runCli([...args, '--batch-size', '1', '--max-failures', '5']);
    expect(stopped.exitCode, stopped.stderr).toBe(1);
    const inFlight = Number(/stopping: 5 item\(s\) failed, reaching --max-failures 5\. No new work; waiting up to 30 s for the (\d+) item\(s\) in flight\./.exec(stopped.stderr)?.[1]);
    // One replica holds --prefetch (2) batches, or, since these fail in microseconds, up to the
    // credit for fast batches (src/scheduler/credit.ts).
    expect(inFlight).toBeLessThanOrEqual(MAX_CREDIT);
    const written = readOutput(output);
    expect(written).toHaveLength(5 + inFlight);
    expect(written.every((line) => !line.ok && line.error?.message === 'the model weights are missing')).toBe(true);
    expect(stopped.stderr).toMatch(new RegExp(`stopped early: ${5 + inFlight} item\\(s\\) failed, reaching --max-failures 5; ${5 + inFlight} of 500 items are in .*out\\.jsonl.*\\n\\s+gpu-orchestrate .*--resume`));
    await expectNoSurvivors(stopped.marker);

    rmSync(broken); // the cause fixed
    const resumed = await runCli([...args, '--batch-size', '16', '--resume']);
    expect(resumed.exitCode, resumed.stderr).toBe(0);
    expect(resumed.stderr).toMatch(new RegExp(`resuming .*: 0 item\\(s\\) already done, ${500 - 5 - inFlight} to run; ${5 + inFlight} failed item\\(s\\) kept`));
    const lines = expectEachIdOnce(output, 500);
    expect(lines.filter((line) => line.ok)).toHaveLength(500 - 5 - inFlight);
  });

  it('--fail-fast stops at the first failed item', async () => {
    const dir = scratchDir();
    const output = path.join(dir, 'out.jsonl');
    // fails_some.py fails item-0 (value 0 is divisible by 7): the first batch holds it.
    const result = await runCli(['--script', fixture('fails_some.py'), '--inputs', itemsFile(dir, 400), '--output', output, '--gpus', 'cpu:1', '--batch-size', '4', '--fail-fast']);
    expect(result.exitCode, result.stderr).toBe(1);
    expect(result.stderr).toMatch(/stopping: 1 item\(s\) failed, reaching --max-failures 1\./);
    const lines = readOutput(output);
    expect(lines.filter((line) => !line.ok).map((line) => line.id)).toContain('item-0');
    expect(lines.length).toBeLessThanOrEqual(12); // the first batch and the (at most two) in flight with it
    await expectNoSurvivors(result.marker);
  });
});
