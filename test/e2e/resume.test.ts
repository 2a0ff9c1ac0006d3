/** An existing output: refused without a flag; --overwrite starts it afresh; --retry-failed runs its failed items again. */
import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { expectEachIdOnce, expectNoSurvivors, itemsFile } from '../helpers/checks.js';
import { fixture, jsonlItems, readOutput, runCli, scratchDir } from '../helpers/cli.js';

describe('an existing output', () => {
  it('is never clobbered without --resume or --overwrite', async () => {
    const dir = scratchDir();
    const output = path.join(dir, 'out.jsonl');
    writeFileSync(output, '{"id": "item-0", "ok": true}\n');
    const result = await runCli(['--script', fixture('echo.py'), '--inputs', itemsFile(dir, 5), '--output', output, '--gpus', 'cpu:1']);
    expect(result.exitCode).toBe(2);
    expect(result.stderr).toMatch(/already exists\. Pass --resume to continue it .* or --overwrite to start it again/);
    expect(readFileSync(output, 'utf8')).toBe('{"id": "item-0", "ok": true}\n');
  });

  it('--overwrite starts it afresh: the old lines and the old .arrays file are gone', async () => {
    const dir = scratchDir();
    const output = path.join(dir, 'out.jsonl');
    const arrays = path.join(dir, 'out.arrays');
    const stale = [{ id: 'item-0', ok: false, error: { type: 'ValueError', message: 'old', traceback: '' } }, { id: 'gone-1', ok: true, result: 1 }, { id: 'gone-2', ok: true, result: 2 }];
    writeFileSync(output, stale.map((line) => JSON.stringify(line)).join('\n') + '\n');
    writeFileSync(arrays, Buffer.alloc(4096, 0xab));
    const result = await runCli(['--script', fixture('echo.py'), '--inputs', itemsFile(dir, 10), '--output', output, '--gpus', 'cpu:1', '--overwrite']);
    expect(result.exitCode, result.stderr).toBe(0);
    const lines = expectEachIdOnce(output, 10);
    expect(lines.every((line) => line.ok)).toBe(true);
    expect(existsSync(arrays), 'the old .arrays file was kept: this run wrote no arrays').toBe(false);
    await expectNoSurvivors(result.marker);
  });

  it('the printed --retry-failed command runs only the failed items again (--resume implied); each item stays once', async () => {
    const dir = scratchDir();
    const output = path.join(dir, 'out.jsonl');
    const corrupt = path.join(dir, 'corrupt');
    writeFileSync(corrupt, '');
    const first = await runCli(['--script', fixture('fails_some.py'), '--inputs', itemsFile(dir, 30), '--output', output, '--gpus', 'cpu:1', '--batch-size', '8', '--opt', `while_exists=${corrupt}`]);
    expect(first.exitCode, first.stderr).toBe(1);
    const before = readFileSync(output, 'utf8').trimEnd().split('\n');
    const failedIds = readOutput(output).filter((line) => !line.ok).map((line) => line.id).sort();
    expect(failedIds).toEqual(['item-0', 'item-14', 'item-21', 'item-28', 'item-7']);
    // The command the run printed, as a user would copy it (these paths need no quoting).
    const hint = /To run only them again:\n\s+gpu-orchestrate (.*)/.exec(first.stderr);
    expect(hint, first.stderr).not.toBeNull();
    const args = (hint as RegExpExecArray)[1]?.split(' ') ?? [];
    expect(args).toContain('--retry-failed');
    expect(args).not.toContain('--resume');

    rmSync(corrupt); // the user repairs the inputs
    const again = await runCli(args);
    expect(again.exitCode, again.stderr).toBe(0);
    expect(again.stderr).toMatch(/resuming .*: 25 item\(s\) already done, 5 to run; 5 failed item\(s\) to run again/);
    const lines = expectEachIdOnce(output, 30);
    expect(lines.every((line) => line.ok)).toBe(true);
    const after = readFileSync(output, 'utf8').trimEnd().split('\n');
    // The 25 lines that were ok are kept as they were; the 5 failed ones were replaced by new lines.
    const keptOk = before.filter((line) => (JSON.parse(line) as { ok: boolean }).ok);
    expect(after.slice(0, 25)).toEqual(keptOk);
    expect(after.slice(25).map((line) => (JSON.parse(line) as { id: string }).id).sort()).toEqual(failedIds);
    await expectNoSurvivors(again.marker);
  });

  it('an output written before lines carried the item\'s ordinal resumes by its ids: its lines are kept, the rest run once', async () => {
    const dir = scratchDir();
    const output = path.join(dir, 'out.jsonl');
    // As gpu-orchestrate wrote lines before they carried "index".
    const old = [0, 3, 7, 12].map((n) => JSON.stringify({ id: `item-${n}`, input: { id: `item-${n}`, value: n }, ok: true, result: { echo: n }, device: 'cpu:0', replica: 0, attempts: 1, duration: 0.01 }));
    writeFileSync(output, `${old.join('\n')}\n`);
    const result = await runCli(['--script', fixture('echo.py'), '--inputs', itemsFile(dir, 20), '--output', output, '--gpus', 'cpu:1', '--resume']);
    expect(result.exitCode, result.stderr).toBe(0);
    expect(result.stderr).toMatch(/resuming .*: 4 item\(s\) already done, 16 to run\n/);
    expectEachIdOnce(output, 20);
    expect(readFileSync(output, 'utf8').split('\n').slice(0, 4)).toEqual(old);
    await expectNoSurvivors(result.marker);
  });

  it('inputs that moved since (a failing item deleted from the list before --retry-failed): every remaining item once, found by id', async () => {
    const dir = scratchDir();
    const output = path.join(dir, 'out.jsonl');
    const args = ['--script', fixture('fails_some.py'), '--inputs', itemsFile(dir, 30), '--output', output, '--gpus', 'cpu:1'];
    const first = await runCli(args);
    expect(first.exitCode, first.stderr).toBe(1); // item-0, 7, 14, 21 and 28 failed
    // The user deletes item-7 from the inputs (a corrupt image thrown away): items 8.. move up one place.
    writeFileSync(path.join(dir, 'items.jsonl'), jsonlItems(30).split('\n').filter((line) => !line.includes('"item-7"')).join('\n'));
    const again = await runCli([...args, '--retry-failed', '--opt', 'while_exists=/nonexistent']);
    expect(again.exitCode, again.stderr).toBe(0);
    expect(again.stderr).toMatch(/no longer at the same place in JSONL file .*items\.jsonl: resuming by id/);
    const lines = readOutput(output);
    expect(lines.map((line) => line.id).sort()).toEqual(Array.from({ length: 30 }, (_, n) => `item-${n}`).filter((id) => id !== 'item-7').sort());
    expect(lines.every((line) => line.ok)).toBe(true);
    await expectNoSurvivors(again.marker);
  });
});
