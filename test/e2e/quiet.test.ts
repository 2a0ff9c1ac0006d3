/** --quiet means errors only: no progress, no summary, and no notices such as "resuming ...". */
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { fixture, jsonlItems, readOutput, runCli, scratchDir, survivors } from '../helpers/cli.js';

let dir = '';
afterEach(() => rmSync(dir, { recursive: true, force: true }));

describe('--quiet', () => {
  it('a resumed run prints nothing: no "resuming" notice, no progress, no summary', async () => {
    dir = scratchDir('go-quiet-');
    const inputs = path.join(dir, 'items.jsonl');
    writeFileSync(inputs, jsonlItems(20));
    const output = path.join(dir, 'out.jsonl');
    const args = ['--script', fixture('echo.py'), '--inputs', inputs, '--output', output, '--gpus', 'cpu:1'];
    const first = await runCli([...args, '--quiet']);
    expect(first.exitCode).toBe(0);
    expect(first.stderr).toBe('');
    // Keep 8 of the 20 lines, as a run stopped part-way would have.
    writeFileSync(output, `${readFileSync(output, 'utf8').split('\n').slice(0, 8).join('\n')}\n`);

    const resumed = await runCli([...args, '--resume', '--quiet']);
    expect(resumed.stderr).toBe('');
    expect(resumed.stdout).toBe('');
    expect(resumed.exitCode).toBe(0);
    const lines = readOutput(output);
    expect(lines.map((line) => line.id).sort()).toEqual(Array.from({ length: 20 }, (_, index) => `item-${index}`).sort());
    expect(survivors(resumed.marker)).toEqual([]);

    const nothingLeft = await runCli([...args, '--resume', '--quiet']);
    expect(nothingLeft.stderr).toBe('');
    expect(nothingLeft.exitCode).toBe(0);
  });

  it('an error still reaches stderr', async () => {
    dir = scratchDir('go-quiet-');
    const inputs = path.join(dir, 'items.jsonl');
    writeFileSync(inputs, jsonlItems(14));
    const output = path.join(dir, 'out.jsonl');
    const result = await runCli(['--script', fixture('fails_some.py'), '--inputs', inputs, '--output', output, '--gpus', 'cpu:1', '--quiet']);
    expect(result.exitCode).toBe(1);
    expect(result.stderr).toMatch(/^2 item\(s\) failed: their lines in .*out\.jsonl have "ok": false/);
    expect(result.stderr).not.toMatch(/\[gpu-orchestrate\]|items \(|resuming|warning/);
  });
});
