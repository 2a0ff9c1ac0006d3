/**
 * Vitest setup file (vitest.config.ts: setupFiles): no test leaves a process or a folder behind,
 * whether it passed, failed or timed out.
 *
 * - TMPDIR points at this test file's root folder, removed when the file ends: what tests and
 *   the processes they start put in the temporary folder goes with it.
 * - After each test: every CLI run it started is ended, whole process tree, and its folders are
 *   removed. A test that passed fails here when it left a run running, processes alive after
 *   their run, or a run folder its controller should have removed.
 * - A worker that exits for any reason kills the runs it still has.
 */
import { afterAll, afterEach, beforeEach } from 'vitest';
import { endRuns, killAllRuns, setTestDeadline } from './cli.js';
import { removeScratch, testRoot } from './scratch.js';

process.env.TMPDIR = testRoot();

beforeEach((context) => {
  setTestDeadline(Date.now() + context.task.timeout);
});

afterEach(async (context) => {
  setTestDeadline(undefined);
  const problems = await endRuns(context.task.id);
  removeScratch(context.task.id);
  if (problems.length > 0 && context.task.result?.state !== 'fail') {
    throw new Error(`the test left things behind:\n${problems.map((problem) => `- ${problem}`).join('\n')}`);
  }
});

afterAll(async () => {
  const problems = await endRuns();
  removeScratch();
  if (problems.length > 0) throw new Error(`runs started outside a test left things behind:\n${problems.map((problem) => `- ${problem}`).join('\n')}`);
});

process.on('exit', () => {
  killAllRuns();
  removeScratch();
});
