/** Inputs read as the run consumes them: standard input as it arrives, a bad line where the reading finds it. */
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { execa } from 'execa';
import { describe, expect, it } from 'vitest';
import { shellQuote } from '../../src/util/command-line.js';
import { expectEachIdOnce, expectNoSurvivors } from '../helpers/checks.js';
import { BIN, fixture, jsonlItems, linesSoFar, readOutput, runCli, scratchDir, startCli, waitFor } from '../helpers/cli.js';
import { MARKER_VARIABLE } from '../helpers/processes.js';

describe('inputs read as the run goes', () => {
  it('standard input: results are written while the pipe is still open, in batches of what has arrived', async () => {
    const dir = scratchDir();
    const output = path.join(dir, 'out.jsonl');
    const all = jsonlItems(5).trimEnd().split('\n');
    const run = startCli(['--script', fixture('echo.py'), '--inputs', '-', '--output', output, '--gpus', 'cpu:1']);
    run.writeStdin(`${all.slice(0, 3).join('\n')}\n`);
    // Three items of a batch size of 8, and the pipe still open: they run now, not when it closes.
    await waitFor(() => linesSoFar(output) >= 3, 'the first three results while standard input is open');
    expect(readOutput(output).map((line) => line.id).sort()).toEqual(['item-0', 'item-1', 'item-2']);
    run.writeStdin(`${all.slice(3).join('\n')}\n`);
    run.endStdin();
    const result = await run.done;
    expect(result.exitCode, result.stderr).toBe(0);
    const lines = expectEachIdOnce(output, 5);
    expect(lines.map((line) => (line as unknown as { index: number }).index).sort()).toEqual([0, 1, 2, 3, 4]);
    await expectNoSurvivors(result.marker);
  });

  it('standard input that is a terminal: it says what it waits for (one item a line, then Ctrl-D), then runs what was typed', async () => {
    const dir = scratchDir();
    const output = path.join(dir, 'out.jsonl');
    const marker = `go-tty-${process.pid}-${Date.now()}`;
    const command = ['node', BIN, '--script', fixture('echo.py'), '--inputs', '-', '--output', output, '--gpus', 'cpu:1'].map(shellQuote).join(' ');
    // script(1) gives the command a terminal; what is typed (and Ctrl-D) goes through it.
    const typed = await execa('script', ['-qec', command, '/dev/null'], { input: 'a.png\nb.png\n\x04', env: { [MARKER_VARIABLE]: marker }, reject: false, timeout: 120_000 });
    expect(typed.exitCode, typed.stdout).toBe(0);
    expect(typed.stdout).toContain('reading the items from standard input, which is a terminal: type one a line, then Ctrl-D');
    expect(readOutput(output).map((line) => line.id).sort()).toEqual(['a.png', 'b.png']);
    await expectNoSurvivors(marker);
  });

  it('a bad line past the start stops the run there (exit 2, file and line named); once fixed, --resume completes the output', async () => {
    const dir = scratchDir();
    const output = path.join(dir, 'out.jsonl');
    const inputs = path.join(dir, 'items.jsonl');
    // 8 KB lines: line 41 is past the first 256 KiB, which is read (and checked) before anything starts.
    const good = Array.from({ length: 60 }, (_, i) => JSON.stringify({ id: `item-${i}`, pad: 'x'.repeat(8000) }));
    writeFileSync(inputs, `${good.slice(0, 40).join('\n')}\n{"id": "item-40", oops}\n${good.slice(41).join('\n')}\n`);
    const args = ['--script', fixture('echo.py'), '--inputs', inputs, '--output', output, '--gpus', 'cpu:1', '--batch-size', '4'];
    const first = await runCli(args);
    expect(first.exitCode).toBe(2);
    expect(first.stderr).toMatch(/items\.jsonl, line 41: not valid JSON .*; each line must be one JSON value\nThe run stopped there: \d+ item\(s\) are in .*out\.jsonl; once the inputs are fixed, run again with --resume to continue\./);
    await expectNoSurvivors(first.marker);

    writeFileSync(inputs, `${good.join('\n')}\n`); // the user repairs the line
    const resumed = await runCli([...args, '--resume']);
    expect(resumed.exitCode, resumed.stderr).toBe(0);
    expectEachIdOnce(output, 60);
  });
});
