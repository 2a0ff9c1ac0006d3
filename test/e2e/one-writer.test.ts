/**
 * One writer per output (issue 12): a second run on an output that a run is writing is refused at
 * once, whatever its flags, and touches nothing; a SIGKILLed run leaves no lock that stops the next.
 */
import { existsSync, readFileSync, symlinkSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { expectEachIdOnce, expectNoSurvivors, itemsFile, loggedIds } from '../helpers/checks.js';
import { fixture, linesSoFar, logLines, runCli, scratchDir, startCli, waitFor } from '../helpers/cli.js';

const echoArgs = (dir: string, output: string, log: string) => ['--script', fixture('logged_echo.py'), '--inputs', path.join(dir, 'items.jsonl'), '--output', output, '--gpus', 'cpu:1', '--opt', `log=${log}`];

describe('one writer per output', () => {
  it('a second run on an output being written (--resume, --overwrite, neither, or through a symlink) is refused at once with exit 2, naming the pid and command line of the run that writes it; nothing written is touched', async () => {
    const dir = scratchDir();
    itemsFile(dir, 600);
    const output = path.join(dir, 'out.jsonl');
    const log = path.join(dir, 'first.log');
    // The issue's reproduction (600 items of 10 ms on cpu:1), with item-300's batch held running
    // so that the first run is surely still writing while the second ones try.
    const firstArgs = [...echoArgs(dir, output, log), '--opt', 'delay=0.01', '--opt', 'stall=item-300', '--grace', '1'];
    const first = startCli(firstArgs);
    await waitFor(() => loggedIds(logLines(log), 'start').includes('item-300'), 'item-300 to start');
    // Every item finished before the stall is written: from here the output does not change.
    await waitFor(() => linesSoFar(output) === loggedIds(logLines(log), 'item').length, 'the finished items to be written');
    const written = readFileSync(output);
    const link = path.join(dir, 'link.jsonl');
    symlinkSync(output, link);

    for (const [target, flags] of [[output, ['--resume']], [output, ['--overwrite']], [output, []], [link, ['--resume']]] as const) {
      const secondLog = path.join(dir, 'second.log');
      const second = await runCli([...echoArgs(dir, target, secondLog), ...flags]);
      expect(second.exitCode, second.stderr).toBe(2);
      expect(second.stderr).toContain(`${target} is being written by another gpu-orchestrate run (pid ${first.pid}, started `);
      expect(second.stderr).toContain(`: gpu-orchestrate ${firstArgs.join(' ')}). One run writes an output at a time`);
      expect(second.stderr.trim().split('\n'), 'one message, no progress').toHaveLength(1);
      expect(existsSync(secondLog), 'the refused run started a replica').toBe(false);
      expect(readFileSync(output).equals(written), `${flags.join(' ') || 'a plain run'} changed the output`).toBe(true);
    }

    first.signalGroup('SIGINT'); // the stalled batch is cut after --grace 1
    const interrupted = await first.done;
    expect(interrupted.exitCode, interrupted.stderr).toBe(130);
    expect(existsSync(`${output}.lock`), 'the lock file outlived its run').toBe(false);
    const resumed = await runCli([...echoArgs(dir, output, path.join(dir, 'third.log')), '--resume']);
    expect(resumed.exitCode, resumed.stderr).toBe(0);
    expectEachIdOnce(output, 600);
    await expectNoSurvivors(resumed.marker);
  });

  it('a SIGKILLed run leaves its lock file but no lock: the next run on its output goes ahead, and removes the file when it ends', async () => {
    const dir = scratchDir();
    itemsFile(dir, 300);
    const output = path.join(dir, 'out.jsonl');
    const killed = startCli([...echoArgs(dir, output, path.join(dir, 'first.log')), '--opt', 'delay=0.01']);
    await waitFor(() => linesSoFar(output) >= 40, 'the first lines');
    killed.signalController('SIGKILL');
    await killed.done;
    await expectNoSurvivors(killed.marker);
    expect(existsSync(`${output}.lock`), 'a run held no lock file').toBe(true);

    const next = await runCli([...echoArgs(dir, output, path.join(dir, 'second.log')), '--resume']);
    expect(next.exitCode, next.stderr).toBe(0);
    expectEachIdOnce(output, 300);
    expect(existsSync(`${output}.lock`)).toBe(false);
  });
});
