import { readdirSync, readFileSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { cutTornTail, readJournal, type JournalContents } from '../../src/journal/read-back.js';
import { fingerprint } from '../../src/util/id-hash.js';
import { canListDescriptors, openDescriptorsOf, temporaryFolders } from './helpers.js';

const folder = temporaryFolders('go-readback-');

function journalFile(text: string): string {
  const file = path.join(folder(), 'out.jsonl');
  writeFileSync(file, text);
  return file;
}

// Lines as an output written before lines carried the item's ordinal ("index"): kept by id.
const ok = (id: string) => JSON.stringify({ id, input: id, ok: true, result: 1 });
const failed = (id: string) => JSON.stringify({ id, input: id, ok: false, error: { type: 'E', message: 'm', traceback: '' } });
// Lines as gpu-orchestrate writes them now: id, index and ok first.
const line = (id: string, index: number, isOk = true) => JSON.stringify({ id, index, ok: isOk, input: id, ...(isOk ? { result: 1 } : { error: { type: 'E', message: 'm', traceback: '' } }) });

/** What a read-back found, in words a test compares: ids kept by id, and ok / failed counts. */
function summary(contents: JournalContents) {
  return { ids: [...contents.recorded.unordered], ok: contents.ok, failed: contents.failed, ordinals: contents.recorded.ordinals, tornBytes: contents.tornBytes, unreadable: contents.unreadable, removedFailed: contents.removedFailed };
}

/** cutTornTail looks for the last newline backwards, this many bytes at a time. */
const CHUNK = 1 << 20;

describe('readJournal (--resume)', () => {
  it('cuts a torn last line off the file so that its item runs again', async () => {
    const file = journalFile(`${ok('a')}\n${ok('b')}\n{"id": "c", "ok": tr`);
    const contents = await readJournal(file, { dropFailed: false });
    expect([...contents.recorded.unordered]).toEqual(['a', 'b']);
    expect(contents.tornBytes).toBe('{"id": "c", "ok": tr'.length);
    expect(readFileSync(file, 'utf8')).toBe(`${ok('a')}\n${ok('b')}\n`); // appending continues on a clean line
  });

  it('leaves a file that ends cleanly as it is, and reads an empty file as nothing done', async () => {
    const text = `${ok('a')}\n${failed('b')}\n`;
    const file = journalFile(text);
    const contents = await readJournal(file, { dropFailed: false });
    expect(summary(contents)).toEqual({ ids: ['a', 'b'], ok: 1, failed: 1, ordinals: 0, tornBytes: 0, unreadable: 0, removedFailed: 0 });
    expect(readFileSync(file, 'utf8')).toBe(text);

    const empty = journalFile('');
    expect(summary(await readJournal(empty, { dropFailed: false }))).toEqual({ ids: [], ok: 0, failed: 0, ordinals: 0, tornBytes: 0, unreadable: 0, removedFailed: 0 });
    expect(readFileSync(empty, 'utf8')).toBe('');
  });

  it('does not touch a file that ends cleanly, nor an empty one: their modification time stays', async () => {
    const earlier = new Date('2001-02-03T04:05:06Z'); // as a finished run left it
    for (const text of [`${ok('a')}\n`, '']) {
      const file = journalFile(text);
      utimesSync(file, earlier, earlier);
      await readJournal(file, { dropFailed: false });
      expect(statSync(file).mtime).toEqual(earlier);
    }
  });

  it('empties a file whose only line is torn', async () => {
    const file = journalFile('{"id": "a", "ok": tr');
    const contents = await readJournal(file, { dropFailed: false });
    expect(contents.ok + contents.failed).toBe(0);
    expect(contents.tornBytes).toBe(20);
    expect(readFileSync(file, 'utf8')).toBe('');
  });

  it('cuts a torn line longer than the read chunk, back to the last whole line', async () => {
    const torn = `{"id": "big", "ok": true, "result": "${'x'.repeat(CHUNK + CHUNK / 2)}`;
    const file = journalFile(`${ok('a')}\n${torn}`);
    const contents = await readJournal(file, { dropFailed: false });
    expect([...contents.recorded.unordered]).toEqual(['a']);
    expect(contents.tornBytes).toBe(torn.length);
    expect(readFileSync(file, 'utf8')).toBe(`${ok('a')}\n`);
  });

  it('cuts a torn line exactly as long as the read chunk less its newline', async () => {
    // The newline before the torn line is the first byte of the last chunk read.
    const torn = `{"id": "big", "result": "${'x'.repeat(CHUNK - 1 - 25)}`;
    expect(torn.length).toBe(CHUNK - 1);
    const big = JSON.stringify({ id: 'big-ok', ok: true, result: 'y'.repeat(CHUNK) });
    const file = journalFile(`${ok('a')}\n${big}\n${torn}`);
    expect(cutTornTail(file)).toBe(CHUNK - 1);
    expect(readFileSync(file, 'utf8')).toBe(`${ok('a')}\n${big}\n`);
    const contents = await readJournal(file, { dropFailed: false });
    expect(summary(contents)).toMatchObject({ ids: ['a', 'big-ok'], ok: 2 });
  });

  it.runIf(canListDescriptors)('closes the file after cutting', () => {
    const file = journalFile(`${ok('a')}\n{"id"`);
    expect(cutTornTail(file)).toBe(5);
    expect(openDescriptorsOf(file)).toEqual([]);
  });

  it('keeps failed lines as recorded, unless --retry-failed takes them out of the file', async () => {
    const text = `${ok('a')}\n${failed('b')}\n${ok('c')}\n`;
    const kept = await readJournal(journalFile(text), { dropFailed: false });
    expect(summary(kept)).toMatchObject({ ids: ['a', 'b', 'c'], ok: 2, failed: 1 });
    const file = journalFile(text);
    const dropped = await readJournal(file, { dropFailed: true });
    expect(summary(dropped)).toMatchObject({ ids: ['a', 'c'], ok: 2, failed: 0, removedFailed: 1 });
    expect(readFileSync(file, 'utf8')).toBe(`${ok('a')}\n${ok('c')}\n`); // so b appears once after its re-run
    expect(readdirSync(path.dirname(file))).toEqual(['out.jsonl']); // no rewrite left beside it
  });

  it('rewrites an output far larger than the write buffer for --retry-failed, every kept line in order', async () => {
    const ids = Array.from({ length: 3000 }, (_, i) => `item-${i}`);
    const lines = ids.map((id, i) => (i % 3 === 1 ? failed(id) : ok(id)));
    const file = journalFile(`${lines.join('\n')}\n`);
    const contents = await readJournal(file, { dropFailed: true });
    const kept = ids.filter((_, i) => i % 3 !== 1);
    expect([...contents.recorded.unordered]).toEqual(kept);
    expect(contents.removedFailed).toBe(1000);
    expect(readFileSync(file, 'utf8')).toBe(`${kept.map(ok).join('\n')}\n`);
    expect(readdirSync(path.dirname(file))).toEqual(['out.jsonl']);
  });

  it('counts lines that are not JSON with an id as unreadable; their items run again', async () => {
    const contents = await readJournal(journalFile(`${ok('a')}\nnot json\n{"no": "id"}\n{"id": 5, "ok": true}\n`), { dropFailed: false });
    expect([...contents.recorded.unordered]).toEqual(['a']);
    expect(contents.unreadable).toBe(3);
  });

  it('skips blank lines, spaces only included, without counting them unreadable', async () => {
    const contents = await readJournal(journalFile(`\n${ok('a')}\n   \n\t\n${ok('b')}\r\n\n`), { dropFailed: false });
    expect([...contents.recorded.unordered]).toEqual(['a', 'b']);
    expect(contents.unreadable).toBe(0);
  });

  it('takes only ok: true as done; anything else is a failed line', async () => {
    const odd = JSON.stringify({ id: 'odd', ok: 'yes' });
    const contents = await readJournal(journalFile(`${ok('a')}\n${odd}\n`), { dropFailed: false });
    expect(summary(contents)).toMatchObject({ ids: ['a', 'odd'], ok: 1, failed: 1 });
  });
});

describe('readJournal: lines that carry the ordinal', () => {
  it('keeps a fingerprint of the id per ordinal, not the id', async () => {
    const contents = await readJournal(journalFile(`${line('a', 0)}\n${line('b', 2, false)}\n${line('c', 5)}\n`), { dropFailed: false });
    expect(summary(contents)).toEqual({ ids: [], ok: 2, failed: 1, ordinals: 3, tornBytes: 0, unreadable: 0, removedFailed: 0 });
    expect([0, 1, 2, 3, 4, 5].map((ordinal) => contents.recorded.at(ordinal))).toEqual([fingerprint('a'), 0, fingerprint('b'), 0, 0, fingerprint('c')]);
    expect(contents.recorded.at(1_000_000)).toBe(0);
  });

  it('reads ids that need escaping, or are not ASCII, as JSON.parse does', async () => {
    const ids = ['say "hi"', 'back\\slash', 'naïve/图像.png', 'tab\there', '{"id":"x"}'];
    const contents = await readJournal(journalFile(ids.map((id, index) => line(id, index)).join('\n') + '\n'), { dropFailed: false });
    expect(ids.map((_, index) => contents.recorded.at(index))).toEqual(ids.map(fingerprint));
  });

  it('mixes with lines written before ordinals, which are kept by id', async () => {
    const contents = await readJournal(journalFile(`${ok('old')}\n${line('new', 1)}\n`), { dropFailed: false });
    expect(summary(contents)).toMatchObject({ ids: ['old'], ok: 2, ordinals: 1 });
    expect(contents.recorded.at(1)).toBe(fingerprint('new'));
  });

  it('counts an ordinal that two lines give to different items as a conflict', async () => {
    const contents = await readJournal(journalFile(`${line('a', 0)}\n${line('b', 0)}\n${line('c', 1)}\n${line('c', 1)}\n`), { dropFailed: false });
    expect([contents.recorded.ordinals, contents.recorded.conflicts]).toEqual([2, 1]);
  });

  it('reads far more lines than one read holds, and a line split between two reads', async () => {
    const count = 120_000; // about 9 MB: three reads
    const lines = Array.from({ length: count }, (_, index) => line(`item-${index}`, index, index % 1000 !== 7));
    const file = journalFile(`${lines.join('\n')}\n`);
    const contents = await readJournal(file, { dropFailed: true });
    expect(contents.removedFailed).toBe(120);
    expect(contents.ok).toBe(count - 120);
    expect(contents.recorded.at(count - 1)).toBe(fingerprint(`item-${count - 1}`));
    expect(contents.recorded.at(7)).toBe(0); // failed, taken out for --retry-failed
    expect(readFileSync(file, 'utf8')).toBe(`${lines.filter((_, index) => index % 1000 !== 7).join('\n')}\n`);
  });
});
