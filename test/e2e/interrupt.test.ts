/**
 * Ctrl-C (sent to the process group, as a terminal does), SIGTERM, --grace, a second Ctrl-C and
 * a killed controller: what was running is written or cut as promised, nothing is left running,
 * and --resume completes the output.
 */
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { expectEachIdOnce, expectNoSurvivors, itemsFile, loggedIds } from '../helpers/checks.js';
import { fixture, isAlive, linesSoFar, logLines, readOutput, runCli, scratchDir, startCli, survivors, waitFor } from '../helpers/cli.js';

const echoArgs = (dir: string, output: string, log: string) => ['--script', fixture('logged_echo.py'), '--inputs', path.join(dir, 'items.jsonl'), '--output', output, '--batch-size', '4', '--opt', `log=${log}`];

describe('interrupted runs', () => {
  it.each([
    ['Ctrl-C, sent to the process group as a terminal does', 'group', 'SIGINT', 'cpu:2'],
    ['SIGTERM, sent to the controller as `kill PID` does', 'controller', 'SIGTERM', 'cpu:1'],
  ] as const)('%s: no new work; the batches running at the signal are written; exit 130 with how to resume; --resume does only the rest', async (_, target, signal, gpus) => {
    const dir = scratchDir();
    itemsFile(dir, 200);
    const output = path.join(dir, 'out.jsonl');
    const firstLog = path.join(dir, 'first.log');
    // item-60's batch takes 2 s more: surely running when the signal comes, and within --grace (30 s).
    // --verbose shows what every process prints: a host or replica that took the Ctrl-C for itself would show a KeyboardInterrupt.
    const run = startCli([...echoArgs(dir, output, firstLog), '--gpus', gpus, '--verbose', '--opt', 'delay=0.01', '--opt', 'stall=item-60', '--opt', 'stall_seconds=2']);
    await waitFor(() => loggedIds(logLines(firstLog), 'start').includes('item-60'), 'item-60 to start');
    if (target === 'group') run.signalGroup(signal);
    else run.signalController(signal);
    const interrupted = await run.done;
    expect(interrupted.exitCode, interrupted.stderr).toBe(130);
    expect(interrupted.stderr).toMatch(new RegExp(`${signal}: no new work; waiting up to 30 s for the \\d+ item\\(s\\) in flight`));
    expect(interrupted.stderr).toMatch(/interrupted: \d+ of 200 items are in .*out\.jsonl\. To continue:\n\s+gpu-orchestrate .*--resume/);
    expect(interrupted.stderr).not.toMatch(/KeyboardInterrupt|Traceback/);
    await expectNoSurvivors(interrupted.marker);
    const written = readOutput(output);
    const writtenIds = new Set(written.map((line) => line.id));
    // Every item that started, the stalled batch included, was finished and written; none twice.
    const started = new Set(loggedIds(logLines(firstLog), 'start'));
    expect(started.has('item-60')).toBe(true);
    expect(writtenIds).toEqual(started);
    expect(written).toHaveLength(writtenIds.size);
    expect(written.every((line) => line.ok)).toBe(true);
    expect(writtenIds.size).toBeLessThan(200);
    // The last progress line (the view off a terminal): every device says it was interrupted, not
    // done, with what it finished; together, what the output holds.
    const last = interrupted.stderr.split('\n').filter((line) => line.startsWith('[gpu-orchestrate]')).pop() ?? '';
    const devices = gpus === 'cpu:2' ? ['cpu:0', 'cpu:1'] : ['cpu:0'];
    const finished = devices.map((label) => Number(new RegExp(`\\| ${label} interrupted · (\\d+) done`).exec(last)?.[1]));
    expect(finished.every(Number.isInteger), last).toBe(true);
    expect(finished.reduce((a, b) => a + b, 0)).toBe(written.length);
    expect(last).not.toMatch(/cpu:\d+ done/);

    const secondLog = path.join(dir, 'second.log');
    const resumed = await runCli([...echoArgs(dir, output, secondLog), '--gpus', 'cpu:1', '--resume']);
    expect(resumed.exitCode, resumed.stderr).toBe(0);
    expect(resumed.stderr).toMatch(new RegExp(`resuming .*: ${writtenIds.size} item\\(s\\) already done, ${200 - writtenIds.size} to run`));
    expectEachIdOnce(output, 200);
    const redone = loggedIds(logLines(secondLog), 'item');
    expect(redone.filter((id) => writtenIds.has(id)), 'the resumed run redid finished items').toEqual([]);
    expect(new Set(redone).size).toBe(200 - writtenIds.size);
  });

  it('--grace 1: a batch still running when the grace ends is cut: stopped, not written; exit 130; --resume completes the output', async () => {
    const dir = scratchDir();
    itemsFile(dir, 40);
    const output = path.join(dir, 'out.jsonl');
    const firstLog = path.join(dir, 'first.log');
    // item-10's batch (items 8 to 11) runs 8 s: far past the grace, well within the default 30 s.
    const run = startCli([...echoArgs(dir, output, firstLog), '--gpus', 'cpu:1', '--grace', '1', '--opt', 'stall=item-10', '--opt', 'stall_seconds=8']);
    await waitFor(() => loggedIds(logLines(firstLog), 'start').includes('item-10'), 'item-10 to start');
    run.signalGroup('SIGINT');
    const interrupted = await run.done;
    expect(interrupted.exitCode, interrupted.stderr).toBe(130);
    expect(interrupted.stderr).toMatch(/SIGINT: no new work; waiting up to 1 s for the \d+ item\(s\) in flight/);
    await expectNoSurvivors(interrupted.marker);
    const writtenIds = readOutput(output).map((line) => line.id);
    // Cut: its replica was stopped before the batch could finish (it never logged it done), and
    // nothing of it was written. Written: exactly the items that finished before.
    const finished = loggedIds(logLines(firstLog), 'item');
    for (const id of ['item-8', 'item-9', 'item-10', 'item-11']) {
      expect(finished).not.toContain(id);
      expect(writtenIds).not.toContain(id);
    }
    expect(new Set(writtenIds)).toEqual(new Set(finished));
    expect(writtenIds.length).toBeGreaterThanOrEqual(8);

    const resumed = await runCli([...echoArgs(dir, output, path.join(dir, 'second.log')), '--gpus', 'cpu:1', '--resume']);
    expect(resumed.exitCode, resumed.stderr).toBe(0);
    expectEachIdOnce(output, 40);
  });

  it('a second Ctrl-C stops at once, even while a batch hangs', async () => {
    const dir = scratchDir();
    const output = path.join(dir, 'out.jsonl');
    // --grace 600: only the second Ctrl-C can end this run before the test's own time limit.
    const run = startCli(['--script', fixture('hangs_on.py'), '--inputs', itemsFile(dir, 40), '--output', output, '--gpus', 'cpu:1', '--batch-size', '4', '--grace', '600', '--opt', 'item=item-20']);
    await waitFor(() => linesSoFar(output) >= 20, 'the items before the hanging one');
    run.signalGroup('SIGINT');
    await waitFor(() => run.stderrSoFar().includes('SIGINT: no new work'), 'the first Ctrl-C to be taken');
    run.signalGroup('SIGINT');
    const result = await run.done;
    expect(result.exitCode).toBe(130);
    expect(result.stderr).toMatch(/SIGINT again: stopping at once/);
    expect(readOutput(output).map((line) => line.id)).not.toContain('item-20');
    await expectNoSurvivors(result.marker);
  });

  it('the controller SIGKILLed mid-run: no host or replica survives it, and --resume completes the output', async () => {
    const dir = scratchDir();
    itemsFile(dir, 200);
    const output = path.join(dir, 'out.jsonl');
    const log = path.join(dir, 'replicas.log');
    // item-100's batch stalls: the run is surely mid-way, both replicas at work, when it is killed.
    const first = startCli([...echoArgs(dir, output, log), '--gpus', 'cpu:1', '--workers-per-gpu', '2', '--opt', 'delay=0.01', '--opt', 'stall=item-100']);
    const ready = () => logLines(log).filter((line) => line.startsWith('ready ')).map((line) => Number(line.split(' ')[1]));
    await waitFor(() => ready().length === 2 && loggedIds(logLines(log), 'start').includes('item-100'), 'both replicas ready and item-100 started');
    const replicas = ready();
    first.signalController('SIGKILL');
    await first.done;
    await waitFor(() => survivors(first.marker).length === 0, 'every host and replica to exit', 5_000);
    expect(replicas.filter(isAlive)).toEqual([]);

    const resumed = await runCli([...echoArgs(dir, output, path.join(dir, 'second.log')), '--gpus', 'cpu:1', '--resume']);
    expect(resumed.exitCode, resumed.stderr).toBe(0);
    const lines = expectEachIdOnce(output, 200);
    expect(lines.every((line) => line.ok)).toBe(true);
  });
});
