/** `gpu-orchestrate doctor`: the interpreter a run would use, checked; the exit code says if it is ready. */
import { rmSync } from 'node:fs';
import path from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli, scratchDir } from '../helpers/cli.js';

describe('gpu-orchestrate doctor', () => {
  let dir = '';
  let bare = '';
  beforeAll(async () => {
    dir = scratchDir('go-doctor-');
    // A real interpreter that lacks every package the Python side needs.
    await execa('python3', ['-m', 'venv', '--without-pip', path.join(dir, 'bare')]);
    bare = path.join(dir, 'bare/bin/python');
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('reports the interpreter, torch, CUDA and each package (exit 0 when ready)', async () => {
    const result = await runCli(['doctor']);
    expect(result.exitCode).toBe(0);
    expect(result.stdout).toMatch(/python:\s+\S*python/);
    expect(result.stdout).toMatch(/torch:\s+\d+\.\d+/);
    expect(result.stdout).toMatch(/CUDA available: (yes|no)/);
    for (const name of ['torch', 'pyzmq', 'msgpack', 'numpy']) expect(result.stdout).toMatch(new RegExp(`${name}\\s+ok, `));
    expect(result.stdout).toMatch(/nvidia-smi:/);
  });

  it.each([
    ['after doctor', (python: string) => ['doctor', '--python', python]],
    ['before doctor', (python: string) => ['--python', python, 'doctor']],
  ])('checks the interpreter given by --python %s, and exits 3 when it is not ready', async (_where, args) => {
    const result = await runCli(args(bare));
    expect(result.stdout).toContain(`python:      ${bare} `);
    expect(result.stdout).toMatch(/torch\s+MISSING/);
    expect(result.stdout).toMatch(/not ready: install torch, pyzmq, msgpack, numpy/);
    expect(result.exitCode).toBe(3);
  });

  it('chooses the interpreter as a run does: --python, then GPU_ORCHESTRATE_PYTHON', async () => {
    const fromEnvironment = await runCli(['doctor'], { env: { GPU_ORCHESTRATE_PYTHON: bare } });
    expect(fromEnvironment.stdout).toContain(`python:      ${bare} `);
    expect(fromEnvironment.exitCode).toBe(3);
    const overridden = await runCli(['doctor', '--python', 'python3'], { env: { GPU_ORCHESTRATE_PYTHON: bare } });
    expect(overridden.stdout).not.toContain(bare);
    expect(overridden.exitCode).toBe(0);
  });

  it.each([
    ['after doctor', ['doctor', '--python', '/no/such/python3']],
    ['before doctor', ['--python', '/no/such/python3', 'doctor']],
  ])('an interpreter path that does not exist, given %s, is a usage error naming it (exit 2)', async (_where, args) => {
    const result = await runCli(args);
    expect(result.stderr).toMatch(/the Python interpreter \/no\/such\/python3 was not found/);
    expect(result.stdout).toBe('');
    expect(result.exitCode).toBe(2);
  });
});
