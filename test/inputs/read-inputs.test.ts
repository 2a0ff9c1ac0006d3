import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { PassThrough, Readable } from 'node:stream';
import { afterAll, describe, expect, it } from 'vitest';
import { countItemLines } from '../../src/inputs/count.js';
import { openInputs, type Item } from '../../src/inputs/read-inputs.js';

const dir = mkdtempSync(path.join(tmpdir(), 'go-inputs-'));
mkdirSync(path.join(dir, 'images/sub'), { recursive: true });
for (const name of ['b.png', 'a.png', 'sub/c.png', 'notes.txt', '.hidden.png']) writeFileSync(path.join(dir, 'images', name), '');
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Every item, as the run would read them all. */
async function readAll(spec: string, stdin?: NodeJS.ReadableStream): Promise<Item[]> {
  const source = await openInputs(spec, stdin);
  const items: Item[] = [];
  for await (const chunk of source.chunks()) items.push(...chunk);
  return items;
}

function file(name: string, text: string): string {
  const target = path.join(dir, name);
  writeFileSync(target, text);
  return target;
}

describe('openInputs', () => {
  it('a glob gives the matching paths, sorted, as both id and input', async () => {
    const items = await readAll(path.join(dir, 'images/**/*.png'));
    expect(items.map((item) => path.relative(dir, item.id))).toEqual(['images/a.png', 'images/b.png', 'images/sub/c.png']);
    expect(items.every((item) => item.id === item.input)).toBe(true);
  });

  it('a folder gives every file under it, hidden ones skipped', async () => {
    const items = await readAll(path.join(dir, 'images'));
    expect(items.map((item) => path.relative(dir, item.id))).toEqual(['images/a.png', 'images/b.png', 'images/notes.txt', 'images/sub/c.png']);
  });

  it('a text file is a list of paths; blank lines and comments are skipped', async () => {
    const list = file('list.txt', '# my images\nx/1.png\n\n  x/2.png  \n');
    expect(await readAll(list)).toEqual([{ id: 'x/1.png', input: 'x/1.png' }, { id: 'x/2.png', input: 'x/2.png' }]);
  });

  it('a .jsonl file gives JSON values with their own id, else the line number', async () => {
    const pairs = file('pairs.jsonl', '{"id": "p1", "a": 1}\n\n{"a": 2}\n{"id": 7}\r\n"just a string"');
    expect(await readAll(pairs)).toEqual([
      { id: 'p1', input: { id: 'p1', a: 1 } },
      { id: '3', input: { a: 2 } },
      { id: '7', input: { id: 7 } },
      { id: '5', input: 'just a string' },
    ]);
  });

  it('a bad JSONL line in the first chunk read is refused when the inputs are opened, before anything starts', async () => {
    const bad = file('bad.jsonl', '{"id": 1}\n{oops}\n');
    await expect(openInputs(bad)).rejects.toThrow(/bad.jsonl, line 2: not valid JSON/);
  });

  it('a bad JSONL line further on names the file and the line, when the reading reaches it', async () => {
    const good = Array.from({ length: 20_000 }, (_, i) => JSON.stringify({ id: `item-${i}`, pad: 'x'.repeat(20) })); // about 740 KiB
    const bad = file('late.jsonl', `${good.join('\n')}\n{oops}\n`);
    const source = await openInputs(bad);
    expect(await source.count()).toBe(20_001); // the count pass does not parse
    await expect(readAll(bad)).rejects.toThrow(/late.jsonl, line 20001: not valid JSON/);
  });

  it('a repeated id is refused, since the output names items by id, however far apart the two are', async () => {
    await expect(readAll(file('dup.jsonl', '{"id": "a"}\n{"id": "a"}\n'))).rejects.toThrow(/the id "a" appears more than once/);
    const far = Array.from({ length: 50_000 }, (_, i) => `p/${i}.png`);
    far.push('p/17.png');
    await expect(readAll(file('far.txt', `${far.join('\n')}\n`))).rejects.toThrow(/the id "p\/17.png" appears more than once/);
  });

  it('an "id" that is another line\'s number is a repeat, in either order', async () => {
    await expect(readAll(file('own-first.jsonl', '{"id": 3}\n{"a": 1}\n{"a": 2}\n'))).rejects.toThrow(/the id "3" appears more than once/);
    await expect(readAll(file('number-first.jsonl', '{"a": 1}\n{"a": 2}\n{"id": "2"}\n'))).rejects.toThrow(/the id "2" appears more than once/);
    // "02" and " 2" are not line 2's id "2".
    expect((await readAll(file('not-numbers.jsonl', '{"a": 1}\n{"a": 2}\n{"id": "02"}\n'))).map((item) => item.id)).toEqual(['1', '2', '02']);
  });

  it('- reads paths or JSONL from standard input', async () => {
    expect((await readAll('-', Readable.from(['a.png\nb.png\n']))).map((i) => i.id)).toEqual(['a.png', 'b.png']);
    expect(await readAll('-', Readable.from(['\n{"id":"q","x":1}\n']))).toEqual([{ id: 'q', input: { id: 'q', x: 1 } }]);
  });

  it('standard input is read as it arrives: the first items are there before the pipe is closed', async () => {
    const pipe = new PassThrough();
    pipe.write('{"id": "first"}\n{"id": "second"}\n');
    const source = await openInputs('-', pipe);
    expect(source.description).toBe('JSONL from standard input');
    const chunks = source.chunks();
    const first = await chunks.next();
    expect(first.done ? [] : first.value.map((item) => item.id)).toEqual(['first', 'second']);
    pipe.end('{"id": "third"}\n');
    const rest: string[] = [];
    for await (const chunk of chunks) rest.push(...chunk.map((item) => item.id));
    expect(rest).toEqual(['third']);
  });

  it('a glob that matches nothing says so and how to quote globs', async () => {
    await expect(openInputs(path.join(dir, 'nothing/**/*.jpg'))).rejects.toThrow(/matched no files\. Quote globs/);
  });

  it('an empty file or folder gives no items', async () => {
    const empty = file('empty.jsonl', '\n  \n');
    expect(await (await openInputs(empty)).hasItems()).toBe(false);
    expect(await readAll(empty)).toEqual([]);
    mkdirSync(path.join(dir, 'nothing-here/.git'), { recursive: true });
    writeFileSync(path.join(dir, 'nothing-here/.git/HEAD'), '');
    expect(await (await openInputs(path.join(dir, 'nothing-here'))).hasItems()).toBe(false);
  });

  it('a file can be read again (a resume checks it first); standard input cannot', async () => {
    const list = await openInputs(file('again.txt', 'a\nb\n'));
    for (let pass = 0; pass < 2; pass += 1) {
      const ids: string[] = [];
      for await (const chunk of list.chunks()) ids.push(...chunk.map((item) => item.id));
      expect(ids).toEqual(['a', 'b']);
    }
    const stdin = await openInputs('-', Readable.from(['a\n']));
    expect(stdin.rereadable).toBe(false);
  });
});

describe('countItemLines (the count pass)', () => {
  it('counts what reading the items gives, without parsing', async () => {
    const cases: [string, string][] = [
      ['c1.jsonl', '{"a":1}\n\n   \n{"a":2}\r\n\t\n{"a":3}'],
      ['c2.txt', '# header\n a.png\n\n#b.png\nc.png\n   # indented comment\n'],
      ['c3.jsonl', ''],
      ['c4.jsonl', `${'x'.repeat((1 << 20) + 5)}\n   \n{"a": 1}\n`.replace(/^x+/, (run) => JSON.stringify(run))],
    ];
    for (const [name, text] of cases) {
      const target = file(name, text);
      const expected = (await readAll(target)).length;
      expect(await countItemLines(target, { comments: !name.endsWith('.jsonl') }), name).toBe(expected);
    }
  });
});
