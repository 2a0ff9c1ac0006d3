/**
 * A write that fails (here for real: /dev/full answers every write with ENOSPC) never throws out
 * of the journal: it is recorded once with its file, the listener is told, and nothing more is
 * written. The run's reaction is the session's (test/e2e/write-errors.test.ts).
 */
import { readFileSync, symlinkSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { Journal, arraysPathFor, type OutputFailure } from '../../src/journal/journal.js';
import { float32, nextTurn, record, temporaryFolders } from './helpers.js';

const folder = temporaryFolders('go-write-failure-');

describe('Journal: a write that fails', () => {
  it('on the output: recorded with the file and the error, told once, nothing more written, no throw', async () => {
    const journal = new Journal('/dev/full', 'append');
    const told: OutputFailure[] = [];
    journal.onFailure((failure) => told.push(failure));
    journal.append([record('a', 1), record('b', 2)]);
    await nextTurn();
    expect(told).toHaveLength(1);
    expect(told[0]?.file).toBe('/dev/full');
    expect(told[0]?.error.code).toBe('ENOSPC');
    expect(journal.failure).toBe(told[0]);
    expect(journal.linesWritten).toBe(0);
    journal.append([record('c', 3)]);
    await nextTurn();
    expect(() => journal.close()).not.toThrow();
    expect(told).toHaveLength(1);
  });

  it('on the .arrays file: recorded with the arrays file; the lines appended before it are written, the batch holding the array is not', async () => {
    const output = path.join(folder(), 'results.jsonl');
    symlinkSync('/dev/full', arraysPathFor(output));
    const journal = new Journal(output, 'create');
    const told: OutputFailure[] = [];
    journal.onFailure((failure) => told.push(failure));
    journal.append([record('plain-1', 1), record('plain-2', 2)]);
    journal.append([record('with-array', { emb: float32([1, 2, 3]) }), record('after', 4)]);
    await nextTurn();
    journal.close();
    expect(told.map((failure) => [failure.file, failure.error.code])).toEqual([[arraysPathFor(output), 'ENOSPC']]);
    expect(readFileSync(output, 'utf8').trimEnd().split('\n').map((line) => (JSON.parse(line) as { id: string }).id)).toEqual(['plain-1', 'plain-2']);
    expect(journal.linesWritten).toBe(2);
  });

  it('a failure before a listener is set is told when one is', async () => {
    const journal = new Journal('/dev/full', 'append');
    journal.append([record('a', 1)]);
    await nextTurn();
    const told: OutputFailure[] = [];
    journal.onFailure((failure) => told.push(failure));
    expect(told.map((failure) => failure.error.code)).toEqual(['ENOSPC']);
    journal.close();
  });
});
