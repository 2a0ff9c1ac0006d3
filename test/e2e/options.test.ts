/** Options that change what the user sees or where items come from: --quiet, --verbose, --inputs - and globs. */
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { expectNoSurvivors, itemsFile } from '../helpers/checks.js';
import { fixture, readOutput, runCli, scratchDir } from '../helpers/cli.js';

describe('--quiet', () => {
  it('a run that succeeds prints nothing at all: no progress, no summary', async () => {
    const dir = scratchDir();
    const output = path.join(dir, 'out.jsonl');
    const result = await runCli(['--script', fixture('echo.py'), '--inputs', itemsFile(dir, 20), '--output', output, '--gpus', 'cpu:1', '--quiet']);
    expect(result.exitCode, result.stderr).toBe(0);
    expect(result.stderr).toBe('');
    expect(result.stdout).toBe('');
    expect(readOutput(output)).toHaveLength(20);
  });

  it('errors are still printed', async () => {
    const dir = scratchDir();
    const result = await runCli(['--script', fixture('missing_infer.py'), '--inputs', itemsFile(dir, 5), '--output', path.join(dir, 'out.jsonl'), '--gpus', 'cpu:1', '--quiet']);
    expect(result.exitCode).toBe(3);
    expect(result.stderr).toMatch(/missing_infer\.py: the script does not define infer/);
  });
});

describe('--verbose', () => {
  // Its other half, the script's own prints, is in script-contract.test.ts.
  it('shows the full traceback of a script that cannot be imported', async () => {
    const dir = scratchDir();
    const result = await runCli(['--script', fixture('import_error.py'), '--inputs', itemsFile(dir, 5), '--output', path.join(dir, 'out.jsonl'), '--gpus', 'cpu:1', '--verbose']);
    expect(result.exitCode).toBe(3);
    expect(result.stderr).toMatch(/Traceback \(most recent call last\):[\s\S]*import_error\.py", line 1[\s\S]*ModuleNotFoundError: No module named 'a_module_that_is_not_installed'/);
    await expectNoSurvivors(result.marker);
  });
});

describe('--inputs', () => {
  it('- reads the items from standard input (here paths, one a line, as `find` gives them)', async () => {
    // Which forms standard input may take (paths or JSONL) is test/inputs/read-inputs.test.ts's concern.
    const dir = scratchDir();
    const output = path.join(dir, 'out.jsonl');
    const paths = Array.from({ length: 12 }, (_, index) => `images/${index}.png`);
    const result = await runCli(['--script', fixture('echo.py'), '--inputs', '-', '--output', output, '--gpus', 'cpu:1'], { input: paths.join('\n') + '\n' });
    expect(result.exitCode, result.stderr).toBe(0);
    const lines = readOutput(output);
    expect(lines.map((line) => line.id).sort()).toEqual([...paths].sort());
    for (const line of lines) expect((line.result as { echo: unknown }).echo).toBe(line.id);
  });

  it('a glob that matches nothing is an error (exit 2) that says so, and nothing starts', async () => {
    const dir = scratchDir();
    mkdirSync(path.join(dir, 'images'));
    writeFileSync(path.join(dir, 'images', 'notes.txt'), '');
    const output = path.join(dir, 'out.jsonl');
    const result = await runCli(['--script', fixture('echo.py'), '--inputs', path.join(dir, 'images/**/*.png'), '--output', output, '--gpus', 'cpu:1']);
    expect(result.exitCode).toBe(2);
    expect(result.stderr).toMatch(/--inputs .*images\/\*\*\/\*\.png: no such file or folder, and as a glob it matched no files/);
    expect(existsSync(output)).toBe(false);
    await expectNoSurvivors(result.marker);
  });
});
