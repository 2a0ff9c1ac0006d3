/**
 * A write error on the output or its .arrays file (issue 12): a full file system (a small tmpfs,
 * where the test may mount one) and a file size limit (ulimit -f, anywhere). The run stops
 * cleanly with exit 74 and one message: the file, the error, the items safely written and the
 * command that resumes; no stack trace; nothing left running; --resume then completes the output.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmdirSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { expectEachIdOnce, expectNoSurvivors, itemsFile } from '../helpers/checks.js';
import { completeLines, fixture, runCli, scratchDir, type CliResult } from '../helpers/cli.js';

/** A tmpfs of `size` mounted on a new folder; returns it and how to grow and remove it. Needs root. */
function mountTmpfs(size: string): { dir: string; resize(size: string): void; remove(): void } {
  // Outside the test's scratch folders, which are removed recursively after the test.
  const dir = mkdtempSync(path.join(process.env.GO_TEST_SYSTEM_TMPDIR ?? tmpdir(), 'go-tmpfs-'));
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', `size=${size}`, 'tmpfs', dir], { stdio: 'ignore' });
  } catch (error) {
    rmdirSync(dir);
    throw error;
  }
  return {
    dir,
    resize: (newSize) => execFileSync('mount', ['-o', `remount,size=${newSize}`, dir], { stdio: 'ignore' }),
    remove: () => {
      try {
        execFileSync('umount', [dir], { stdio: 'ignore' });
      } catch {
        execFileSync('umount', ['-l', dir], { stdio: 'ignore' }); // a process of a failed test still holds a file there
      }
      rmdirSync(dir);
    },
  };
}

const canMountTmpfs = ((): boolean => {
  try {
    mountTmpfs('64k').remove();
    return true;
  } catch {
    return false;
  }
})();

/** The one message of a run stopped by a write error; returns the items it says are safely written. */
function expectStoppedCleanly(result: CliResult, file: string, error: RegExp, total: number): number {
  expect(result.exitCode, result.stderr).toBe(74);
  const message = new RegExp(`gpu-orchestrate: cannot write ${file}: ${error.source}\\. The run stopped: (\\d+) of ${total} items are safely in \\S+; the other \\d+ run when you continue\\. .*continue with:\\n  (gpu-orchestrate .*--resume)$`);
  expect(result.stderr).toMatch(message);
  expect(result.stderr.match(/gpu-orchestrate:/g), 'one message').toHaveLength(1);
  expect(result.stderr, 'a stack trace').not.toMatch(/^\s+at /m);
  return Number((message.exec(result.stderr) as RegExpExecArray)[1]);
}

function resumeArgs(result: CliResult): string[] {
  const command = /continue with:\n {2}gpu-orchestrate (.*)/.exec(result.stderr)?.[1];
  expect(command, result.stderr).toBeDefined();
  return (command as string).split(' '); // the test's paths need no quoting
}

describe('a write error stops the run cleanly', () => {
  it.runIf(canMountTmpfs)('ENOSPC on the output (a 256 KiB tmpfs): exit 74, the file, the error, what is safely written and the resume command; --resume after making room completes it', async () => {
    const dir = scratchDir();
    const mount = mountTmpfs('256k');
    try {
      const output = path.join(mount.dir, 'out.jsonl');
      const result = await runCli(['--script', fixture('echo.py'), '--inputs', itemsFile(dir, 4000), '--output', output, '--gpus', 'cpu:1']);
      const safe = expectStoppedCleanly(result, output, /no space left on device \(ENOSPC\)/, 4000);
      expect(safe).toBeGreaterThan(0);
      // What it says is safe is there, whole, each item once; only a torn end may follow (--resume cuts it).
      const whole = completeLines(output).map((line) => JSON.parse(line) as { id: string });
      expect(whole).toHaveLength(safe);
      expect(new Set(whole.map((line) => line.id)).size).toBe(safe);
      await expectNoSurvivors(result.marker);

      mount.resize('4m');
      const resumed = await runCli(resumeArgs(result));
      expect(resumed.exitCode, resumed.stderr).toBe(0);
      expectEachIdOnce(output, 4000);
    } finally {
      mount.remove();
    }
  });

  it.runIf(canMountTmpfs)('ENOSPC on the .arrays file: the same, naming the .arrays file; with --verbose the stack trace too; every line written points at whole array bytes', async () => {
    const dir = scratchDir();
    const mount = mountTmpfs('256k');
    try {
      const output = path.join(mount.dir, 'out.jsonl');
      const arrays = path.join(mount.dir, 'out.arrays');
      // A first run of 20 items fits; the resumed run fills the file system with arrays. (Within one
      // run, how many lines are written before the arrays take the last byte depends on how many
      // results arrive in one event-loop turn: the first run makes lines that exist either way.)
      const inputs = itemsFile(dir, 200);
      const first = await runCli(['--script', fixture('arrays_of.py'), '--inputs', inputs, '--output', output, '--gpus', 'cpu:1', '--limit', '20']);
      expect(first.exitCode, first.stderr).toBe(0);
      const result = await runCli(['--script', fixture('arrays_of.py'), '--inputs', inputs, '--output', output, '--gpus', 'cpu:1', '--resume', '--verbose']);
      expect(result.exitCode, result.stderr).toBe(74);
      expect(result.stderr).toMatch(new RegExp(`gpu-orchestrate: cannot write ${arrays}: no space left on device \\(ENOSPC\\)\\. The run stopped: \\d+ of 200 items are safely in ${output}`));
      expect(result.stderr, '--verbose shows the stack').toMatch(/^\s+at .*journal/m);
      const size = statSync(arrays).size;
      const whole = completeLines(output).map((line) => JSON.parse(line) as { result: { embedding: { __ndarray__: { offset: number } } } });
      expect(whole.length).toBeGreaterThanOrEqual(20);
      for (const line of whole) expect(line.result.embedding.__ndarray__.offset + 4096).toBeLessThanOrEqual(size);
      await expectNoSurvivors(result.marker);

      mount.resize('4m');
      const resumed = await runCli(resumeArgs(result).filter((arg) => arg !== '--verbose'));
      expect(resumed.exitCode, resumed.stderr).toBe(0);
      expectEachIdOnce(output, 200);
    } finally {
      mount.remove();
    }
  });

  it('EFBIG past a file size limit (ulimit -f): the controller is not killed by SIGXFSZ; the same clean stop; --resume without the limit completes it', async () => {
    const dir = scratchDir();
    const output = path.join(dir, 'out.jsonl');
    // 512 blocks: 256 KiB (512-byte blocks, as sh counts them) or 512 KiB (bash's 1024-byte blocks).
    const limited = ['sh', '-c', 'ulimit -f 512 && exec "$@"', 'sh'];
    const result = await runCli(['--script', fixture('echo.py'), '--inputs', itemsFile(dir, 8000), '--output', output, '--gpus', 'cpu:1'], { wrapper: limited });
    const safe = expectStoppedCleanly(result, output, /file too large \(EFBIG\)/, 8000);
    expect(completeLines(output)).toHaveLength(safe);
    expect(readFileSync(output).length).toBeLessThanOrEqual(512 * 1024);
    await expectNoSurvivors(result.marker);

    const resumed = await runCli(resumeArgs(result));
    expect(resumed.exitCode, resumed.stderr).toBe(0);
    expectEachIdOnce(output, 8000);
  });
});
