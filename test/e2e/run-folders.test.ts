/**
 * The run folder (ipc sockets) of a SIGKILLed controller is removed by the next run in the same
 * temporary folder, and a live run's folder is left alone (issue 12).
 */
import { readdirSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { expectNoSurvivors, itemsFile, loggedIds } from '../helpers/checks.js';
import { fixture, logLines, runCli, scratchDir, startCli, waitFor } from '../helpers/cli.js';

const runFolders = (tmp: string) => readdirSync(tmp).filter((name) => name.startsWith('gpu-orchestrate-'));

describe('run folders', () => {
  it("a SIGKILLed run's folder is removed by the next run; a live run's is not", async () => {
    const dir = scratchDir();
    const items = itemsFile(dir, 40);
    const args = (name: string) => ['--script', fixture('logged_echo.py'), '--inputs', items, '--output', path.join(dir, `${name}.jsonl`), '--gpus', 'cpu:1', '--opt', `log=${path.join(dir, `${name}.log`)}`];
    // A live run, held running by a stalled batch, and a run to be killed, in one TMPDIR.
    const live = startCli([...args('live'), '--opt', 'stall=item-20', '--grace', '1']);
    const tmp = live.tmp;
    await waitFor(() => loggedIds(logLines(path.join(dir, 'live.log')), 'start').includes('item-20'), 'the live run to be mid-way');
    const liveFolders = runFolders(tmp);
    expect(liveFolders).toHaveLength(1);

    const killed = startCli([...args('killed'), '--opt', 'stall=item-20'], { env: { TMPDIR: tmp } });
    await waitFor(() => loggedIds(logLines(path.join(dir, 'killed.log')), 'start').includes('item-20'), 'the run to kill to be mid-way');
    const killedFolders = runFolders(tmp).filter((name) => !liveFolders.includes(name));
    expect(killedFolders).toHaveLength(1);
    killed.signalController('SIGKILL');
    await killed.done;
    await expectNoSurvivors(killed.marker);
    expect(runFolders(tmp), 'nothing else removes it').toEqual(expect.arrayContaining(killedFolders));

    const next = await runCli(args('next'), { env: { TMPDIR: tmp } });
    expect(next.exitCode, next.stderr).toBe(0);
    expect(runFolders(tmp).sort(), 'the killed run\'s folder is gone, the live run\'s kept').toEqual(liveFolders);

    live.signalGroup('SIGINT');
    expect((await live.done).exitCode).toBe(130);
    expect(runFolders(tmp)).toEqual([]);
  });
});
