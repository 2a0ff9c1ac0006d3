import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { readInputs } from '../../src/inputs/read-inputs.js';

const dir = mkdtempSync(path.join(tmpdir(), 'go-inputs-'));
mkdirSync(path.join(dir, 'images/sub'), { recursive: true });
for (const name of ['b.png', 'a.png', 'sub/c.png', 'notes.txt', '.hidden.png']) writeFileSync(path.join(dir, 'images', name), '');

describe('readInputs', () => {
  it('a glob gives the matching paths, sorted, as both id and input', async () => {
    const { items } = await readInputs(path.join(dir, 'images/**/*.png'));
    expect(items.map((item) => path.relative(dir, item.id))).toEqual(['images/a.png', 'images/b.png', 'images/sub/c.png']);
    expect(items.every((item) => item.id === item.input)).toBe(true);
  });

  it('a folder gives every file under it, hidden ones skipped', async () => {
    const { items } = await readInputs(path.join(dir, 'images'));
    expect(items.map((item) => path.relative(dir, item.id))).toEqual(['images/a.png', 'images/b.png', 'images/notes.txt', 'images/sub/c.png']);
  });

  it('a text file is a list of paths; blank lines and comments are skipped', async () => {
    const list = path.join(dir, 'list.txt');
    writeFileSync(list, '# my images\nx/1.png\n\n  x/2.png  \n');
    expect((await readInputs(list)).items).toEqual([{ id: 'x/1.png', input: 'x/1.png' }, { id: 'x/2.png', input: 'x/2.png' }]);
  });

  it('a .jsonl file gives JSON values with their own id, else the line number', async () => {
    const file = path.join(dir, 'pairs.jsonl');
    writeFileSync(file, '{"id": "p1", "a": 1}\n\n{"a": 2}\n{"id": 7}\n"just a string"\n');
    expect((await readInputs(file)).items).toEqual([
      { id: 'p1', input: { id: 'p1', a: 1 } },
      { id: '3', input: { a: 2 } },
      { id: '7', input: { id: 7 } },
      { id: '5', input: 'just a string' },
    ]);
  });

  it('a bad JSONL line names the file and the line', async () => {
    const file = path.join(dir, 'bad.jsonl');
    writeFileSync(file, '{"id": 1}\n{oops}\n');
    await expect(readInputs(file)).rejects.toThrow(/bad.jsonl, line 2: not valid JSON/);
  });

  it('a repeated id is refused, since the output names items by id', async () => {
    const file = path.join(dir, 'dup.jsonl');
    writeFileSync(file, '{"id": "a"}\n{"id": "a"}\n');
    await expect(readInputs(file)).rejects.toThrow(/the id "a" appears more than once/);
  });

  it('- reads paths or JSONL from standard input', async () => {
    expect((await readInputs('-', Readable.from(['a.png\nb.png\n']))).items.map((i) => i.id)).toEqual(['a.png', 'b.png']);
    expect((await readInputs('-', Readable.from(['{"id":"q","x":1}\n']))).items).toEqual([{ id: 'q', input: { id: 'q', x: 1 } }]);
  });

  it('a glob that matches nothing says so and how to quote globs', async () => {
    await expect(readInputs(path.join(dir, 'nothing/**/*.jpg'))).rejects.toThrow(/matched no files\. Quote globs/);
  });

  it('an empty list file gives no items', async () => {
    const file = path.join(dir, 'empty.jsonl');
    writeFileSync(file, '');
    expect((await readInputs(file)).items).toEqual([]);
  });
});
