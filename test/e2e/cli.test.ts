/** The command line as a new user meets it: help, mistakes, the dry run, the environment check. */
import { existsSync, rmSync, writeFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import path from 'node:path';
import { execa } from 'execa';
import { describe, expect, it } from 'vitest';
import { PYTHON, fixture, jsonlItems, runCli, scratchDir } from '../helpers/cli.js';

describe('gpu-orchestrate command line', () => {
  it('--help teaches: options, examples, the script contract and exit codes', async () => {
    const result = await runCli(['--help']);
    expect(result.exitCode).toBe(0);
    for (const text of ['--script', '--inputs', '--output', '--gpus', '--workers-per-gpu', '--batch-size', '--prefetch', '--python', '--opt', '--limit', '--dry-run', '--quiet', 'Examples:', 'setup(ctx)', 'Exit codes', 'doctor']) {
      expect(result.stdout).toContain(text);
    }
  });

  it('--version prints the version', async () => {
    const result = await runCli(['--version']);
    expect(result.exitCode).toBe(0);
    expect(result.stdout.trim()).toMatch(/^\d+\.\d+\.\d+$/);
  });

  it('an unknown option is a usage error (exit 2) that names it', async () => {
    const result = await runCli(['--script', fixture('echo.py'), '--gpu', '0']);
    expect(result.exitCode).toBe(2);
    expect(result.stderr).toMatch(/unknown option '--gpu'/);
    expect(result.stderr).toMatch(/--help/);
  });

  it('a bad --gpus value says what is accepted (exit 2)', async () => {
    const result = await runCli(['--script', fixture('echo.py'), '--inputs', 'x', '--output', '/tmp/x.jsonl', '--gpus', 'gpu0']);
    expect(result.exitCode).toBe(2);
    expect(result.stderr).toMatch(/--gpus "gpu0" is not a device list: use all, a list of GPU indices such as 0,2, or cpu:N/);
  });

  it('a missing script is a usage error naming the path (exit 2)', async () => {
    const result = await runCli(['--script', 'no_such_script.py', '--inputs', 'x', '--output', '/tmp/x.jsonl']);
    expect(result.exitCode).toBe(2);
    expect(result.stderr).toMatch(/--script no_such_script\.py: no such file/);
  });

  it('missing required options are named', async () => {
    const result = await runCli(['--gpus', 'cpu:1']);
    expect(result.exitCode).toBe(2);
    expect(result.stderr).toMatch(/missing --script, --inputs, --output/);
  });

  it('--dry-run prints devices, replicas and the item count and starts nothing', async () => {
    const dir = scratchDir();
    const inputs = path.join(dir, 'items.jsonl');
    writeFileSync(inputs, jsonlItems(12));
    const output = path.join(dir, 'out.jsonl');
    const result = await runCli(['--script', fixture('echo.py'), '--inputs', inputs, '--output', output, '--gpus', 'cpu:2', '--workers-per-gpu', '3', '--dry-run', '--limit', '10']);
    expect(result.exitCode).toBe(0);
    expect(result.stdout).toMatch(/inputs:\s+10 items/);
    expect(result.stdout).toMatch(/cpu:0\s+3 replica\(s\)/);
    expect(result.stdout).toMatch(/cpu:1\s+3 replica\(s\)/);
    expect(result.stdout).toMatch(/replicas: 6 in all/);
    expect(existsSync(output)).toBe(false);
  });

  it('--gpus cpu:N with more devices than cores warns that they share the cores, also in --dry-run; not under --quiet', async () => {
    const dir = scratchDir();
    try {
      const inputs = path.join(dir, 'items.jsonl');
      writeFileSync(inputs, jsonlItems(4));
      const cores = availableParallelism();
      const args = (devices: number) => ['--script', fixture('echo.py'), '--inputs', inputs, '--output', path.join(dir, 'o.jsonl'), '--gpus', `cpu:${devices}`, '--dry-run'];
      const crowded = await runCli(args(cores + 2));
      expect(crowded.exitCode).toBe(0);
      expect(crowded.stderr).toBe(`warning: --gpus cpu:${cores + 2} on ${cores} core(s): the ${cores + 2} CPU devices share them, each with 1 torch thread(s) (cores / devices, at least one), and take turns on the cores, so the run is no faster than with cpu:${cores}; pass --gpus cpu:${cores} or fewer to give each device a core of its own.`);
      expect(crowded.stdout).toMatch(new RegExp(`cpu:${cores + 1}\\s+1 replica\\(s\\), 1 CPU thread\\(s\\) each`));
      const fits = await runCli(args(cores));
      expect(fits.stderr).toBe('');
      const quiet = await runCli([...args(cores + 2), '--quiet']);
      expect(quiet.stderr).toBe('');
      expect(quiet.stdout).toMatch(/dry run: nothing was started/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('an interpreter without torch, pyzmq, msgpack and numpy stops the run with the fix (exit 3)', async () => {
    const venv = path.join(scratchDir(), 'bare');
    await execa(PYTHON, ['-m', 'venv', '--without-pip', venv]);
    const dir = scratchDir();
    const inputs = path.join(dir, 'items.jsonl');
    writeFileSync(inputs, jsonlItems(3));
    const result = await runCli(['--script', fixture('echo.py'), '--inputs', inputs, '--output', path.join(dir, 'o.jsonl'), '--gpus', 'cpu:1', '--python', path.join(venv, 'bin/python')]);
    expect(result.exitCode).toBe(3);
    expect(result.stderr.trim().split('\n')).toHaveLength(1);
    expect(result.stderr).toMatch(/bare\/bin\/python.* lacks torch, pyzmq, msgpack, numpy: run .* -m pip install torch pyzmq msgpack numpy/);
  });

  it('an interpreter that does not exist is named (exit 3)', async () => {
    const dir = scratchDir();
    const inputs = path.join(dir, 'items.jsonl');
    writeFileSync(inputs, jsonlItems(3));
    const result = await runCli(['--script', fixture('echo.py'), '--inputs', inputs, '--output', path.join(dir, 'o.jsonl'), '--gpus', 'cpu:1'], { env: { GPU_ORCHESTRATE_PYTHON: '/no/such/python3' } });
    expect(result.exitCode).toBe(3);
    expect(result.stderr).toMatch(/the Python interpreter \/no\/such\/python3 was not found/);
  });
});
