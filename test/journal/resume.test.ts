/** --resume: which items the output holds, by ordinal when the inputs are where it says, else by id. */
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { openInputs } from '../../src/inputs/read-inputs.js';
import { planResume, type ResumePlan } from '../../src/journal/resume.js';
import { temporaryFolders } from './helpers.js';

const folder = temporaryFolders('go-resume-');

const line = (id: string, index: number, ok = true) => JSON.stringify({ id, index, ok, input: id, result: 1 });
const oldLine = (id: string, ok = true) => JSON.stringify({ id, input: id, ok, result: 1 });

async function plan(inputs: string[], journal: string[], options: { dropFailed?: boolean; limit?: number } = {}): Promise<ResumePlan & { file: string }> {
  const dir = folder();
  const list = path.join(dir, 'inputs.txt');
  writeFileSync(list, inputs.map((id) => `${id}\n`).join(''));
  const file = path.join(dir, 'out.jsonl');
  writeFileSync(file, journal.map((text) => `${text}\n`).join(''));
  const made = await planResume(file, await openInputs(list), { dropFailed: options.dropFailed ?? false, limit: options.limit });
  return { ...made, file };
}

/** The status of every input, as the run's reading would ask. */
function statuses(made: ResumePlan, inputs: string[]): string[] {
  return inputs.map((id, ordinal) => `${id}:${made.status(ordinal, id)}`);
}

describe('planResume', () => {
  it('inputs where the output says: items are checked by ordinal, and what is left is counted', async () => {
    const inputs = ['a', 'b', 'c', 'd', 'e'];
    const made = await plan(inputs, [line('a', 0), line('b', 1), line('d', 3, false)]);
    expect(statuses(made, inputs)).toEqual(['a:done', 'b:done', 'c:todo', 'd:done', 'e:todo']);
    expect(made.todo).toBe(2);
    expect(made.notice).toBe(`resuming ${made.file}: 2 item(s) already done, 2 to run; 1 failed item(s) kept (add --retry-failed to run them again)\n`);
  });

  it('an item moved into a place no line names (its failed line taken out, the bad file deleted) is found by id, not run twice', async () => {
    // The first run: a, b (failed), c. The user deletes b and runs --retry-failed: c is now at 1.
    const made = await plan(['a', 'c'], [line('a', 0), line('b', 1, false), line('c', 2)], { dropFailed: true });
    expect(statuses(made, ['a', 'c'])).toEqual(['a:done', 'c:done']);
    expect(made.todo).toBe(0);
    expect(made.notice).toMatch(/1 of its line\(s\) name items that are no longer at the same place in list of paths in .*inputs\.txt: resuming by id/);
  });

  it('inputs reordered: by id, every item once', async () => {
    const inputs = ['e', 'd', 'c', 'b', 'a'];
    const made = await plan(inputs, [line('a', 0), line('b', 1), line('c', 2)]);
    expect(statuses(made, inputs)).toEqual(['e:todo', 'd:todo', 'c:done', 'b:done', 'a:done']);
    expect(made.todo).toBe(2);
  });

  it('an output written before lines carried ordinals resumes by its ids', async () => {
    const inputs = ['a', 'b', 'c'];
    const made = await plan(inputs, [oldLine('c'), oldLine('a', false)]);
    expect(statuses(made, inputs)).toEqual(['a:done', 'b:todo', 'c:done']);
    expect(made.todo).toBe(1);
    expect(made.notice).not.toMatch(/by id/);
  });

  it('an output with old and new lines: both count', async () => {
    const inputs = ['a', 'b', 'c', 'd'];
    const made = await plan(inputs, [oldLine('a'), oldLine('b'), line('d', 3)]);
    expect(statuses(made, inputs)).toEqual(['a:done', 'b:done', 'c:todo', 'd:done']);
    expect(made.todo).toBe(1);
  });

  it('two lines giving one place to different items: by id', async () => {
    const inputs = ['a', 'b', 'c'];
    const made = await plan(inputs, [line('a', 0), line('b', 0), line('c', 2)]);
    expect(statuses(made, inputs)).toEqual(['a:done', 'b:done', 'c:done']);
    expect(made.notice).toMatch(/1 place\(s\) in the inputs are named by two of its lines with different items: resuming by id/);
  });

  it('--limit bounds what is counted as to do; lines past it still count as in place', async () => {
    const inputs = ['a', 'b', 'c', 'd', 'e'];
    const made = await plan(inputs, [line('a', 0), line('e', 4)], { limit: 3 });
    expect(made.todo).toBe(2);
    expect(made.notice).not.toMatch(/by id/);
  });

  it('a change found while the run reads the inputs (after the check) is "moved": the run stops rather than guess', async () => {
    const made = await plan(['a', 'b'], [line('a', 0), line('b', 1)]);
    expect(made.status(1, 'x')).toBe('moved');
  });

  it('standard input cannot be read twice: by id, the count left to the reading', async () => {
    const file = path.join(folder(), 'out.jsonl');
    writeFileSync(file, `${line('a', 0)}\n${line('b', 1)}\n`);
    const made = await planResume(file, await openInputs('-', Readable.from(['a\nc\nb\n'])), { dropFailed: false, limit: undefined });
    expect([made.status(0, 'a'), made.status(1, 'c'), made.status(2, 'b')]).toEqual(['done', 'todo', 'done']);
    expect(made.todo).toBeUndefined();
    expect(made.notice).toBe(`resuming ${file}: 2 item(s) already done, the rest of standard input to run\n`);
  });
});
