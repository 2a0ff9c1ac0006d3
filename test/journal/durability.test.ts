/**
 * The README's durability promise, which no read of the files can check short of pulling the
 * power: lines are written as batches arrive (a crash of gpu-orchestrate itself loses nothing
 * written), and the files are fdatasync'ed every 5 s and at the end, arrays before lines. The
 * file system calls are the real ones, recorded on the way through; the clock is set by the test.
 */
import { readFileSync } from 'node:fs';
import * as fs from 'node:fs';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { Journal, arraysPathFor } from '../../src/journal/journal.js';
import { float32, nextTurn, readLines, record, temporaryFolders } from './helpers.js';

vi.mock('node:fs', async (importOriginal) => {
  const actual = await importOriginal<typeof import('node:fs')>();
  return { ...actual, openSync: vi.fn(actual.openSync), writeSync: vi.fn(actual.writeSync), fdatasyncSync: vi.fn(actual.fdatasyncSync) };
});

const folder = temporaryFolders('go-durability-');

/** The descriptor the journal opened `file` with. */
function descriptorOf(file: string): number {
  const opened = vi.mocked(fs.openSync).mock.calls.findIndex(([name]) => name === file);
  expect(opened).toBeGreaterThanOrEqual(0);
  return vi.mocked(fs.openSync).mock.results[opened]!.value as number;
}

const writesTo = (fd: number) => vi.mocked(fs.writeSync).mock.calls.filter(([to]) => to === fd).length;
const syncs = () => vi.mocked(fs.fdatasyncSync).mock.calls.map(([fd]) => fd);

beforeEach(() => {
  vi.clearAllMocks();
  vi.useFakeTimers({ toFake: ['Date'] });
  vi.setSystemTime(1_000_000);
});

afterEach(() => {
  vi.useRealTimers();
});

describe('Journal: durability', () => {
  it('writes the lines of a turn at its end, in one write, and every later turn again', async () => {
    const output = path.join(folder(), 'results.jsonl');
    const journal = new Journal(output, 'create');
    const fd = descriptorOf(output);
    journal.append([record('a', 1)]);
    journal.append([record('b', 2), record('c', 3)]);
    await nextTurn();
    expect(readLines(output).map((line) => line.id)).toEqual(['a', 'b', 'c']); // before close: a crash loses nothing
    expect(writesTo(fd)).toBe(1);

    journal.append([record('d', 4)]);
    await nextTurn();
    expect(readLines(output).map((line) => line.id)).toEqual(['a', 'b', 'c', 'd']);
    expect(writesTo(fd)).toBe(2);

    journal.append([]);
    journal.close();
    expect(writesTo(fd)).toBe(2); // nothing was left to write
    expect(readFileSync(output, 'utf8').split('\n')).toHaveLength(5);
  });

  it('fdatasyncs every 5 s and at the end, the arrays before the lines that point into them', async () => {
    const output = path.join(folder(), 'results.jsonl');
    const journal = new Journal(output, 'create');
    const batch = async (id: string, atMs: number) => {
      vi.setSystemTime(1_000_000 + atMs);
      journal.append([record(id, { emb: float32([1, 2]) })]);
      await nextTurn();
    };
    await batch('a', 0);
    const [lines, arrays] = [descriptorOf(output), descriptorOf(arraysPathFor(output))];
    await batch('b', 4_999);
    expect(syncs()).toEqual([]);
    await batch('c', 5_000);
    expect(syncs()).toEqual([arrays, lines]);
    await batch('d', 9_999); // 5 s from the last sync, not from the start
    expect(syncs()).toEqual([arrays, lines]);
    await batch('e', 10_000);
    expect(syncs()).toEqual([arrays, lines, arrays, lines]);
    // synced after the lines were written, not before
    const lastWrite = Math.max(...vi.mocked(fs.writeSync).mock.invocationCallOrder);
    expect(vi.mocked(fs.fdatasyncSync).mock.invocationCallOrder.at(-1)!).toBeGreaterThan(lastWrite);

    vi.setSystemTime(1_000_000 + 10_001);
    journal.close();
    expect(syncs()).toEqual([arrays, lines, arrays, lines, arrays, lines]);
    expect(readLines(output).map((line) => line.id)).toEqual(['a', 'b', 'c', 'd', 'e']);
  });

  it('syncs only the lines when no result held an array', async () => {
    const output = path.join(folder(), 'results.jsonl');
    const journal = new Journal(output, 'create');
    journal.append([record('a', [1, 2])]);
    await nextTurn();
    vi.setSystemTime(1_000_000 + 5_000);
    journal.close();
    expect(syncs()).toEqual([descriptorOf(output)]);
  });
});
