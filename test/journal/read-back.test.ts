import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { readJournal } from '../../src/journal/read-back.js';

function journalFile(text: string): string {
  const file = path.join(mkdtempSync(path.join(tmpdir(), 'go-readback-')), 'out.jsonl');
  writeFileSync(file, text);
  return file;
}

const ok = (id: string) => JSON.stringify({ id, input: id, ok: true, result: 1 });
const failed = (id: string) => JSON.stringify({ id, input: id, ok: false, error: { type: 'E', message: 'm', traceback: '' } });

describe('readJournal (--resume)', () => {
  it('cuts a torn last line off the file so that its item runs again', async () => {
    const file = journalFile(`${ok('a')}\n${ok('b')}\n{"id": "c", "ok": tr`);
    const contents = await readJournal(file, { dropFailed: false });
    expect([...contents.recorded.keys()]).toEqual(['a', 'b']);
    expect(contents.tornBytes).toBe('{"id": "c", "ok": tr'.length);
    expect(readFileSync(file, 'utf8')).toBe(`${ok('a')}\n${ok('b')}\n`); // appending continues on a clean line
  });

  it('keeps failed lines as recorded, unless --retry-failed takes them out of the file', async () => {
    const text = `${ok('a')}\n${failed('b')}\n${ok('c')}\n`;
    const kept = await readJournal(journalFile(text), { dropFailed: false });
    expect(kept.recorded).toEqual(new Map([['a', true], ['b', false], ['c', true]]));
    const file = journalFile(text);
    const dropped = await readJournal(file, { dropFailed: true });
    expect(dropped.recorded).toEqual(new Map([['a', true], ['c', true]]));
    expect(dropped.removedFailed).toBe(1);
    expect(readFileSync(file, 'utf8')).toBe(`${ok('a')}\n${ok('c')}\n`); // so b appears once after its re-run
  });

  it('counts lines that are not JSON with an id as unreadable; their items run again', async () => {
    const contents = await readJournal(journalFile(`${ok('a')}\nnot json\n{"no": "id"}\n\n`), { dropFailed: false });
    expect([...contents.recorded.keys()]).toEqual(['a']);
    expect(contents.unreadable).toBe(2);
  });
});
