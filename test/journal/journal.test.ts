import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { Journal, arraysPathFor } from '../../src/journal/journal.js';
import { canListDescriptors, float32, loadArrayBytes, openDescriptorsOf, readLines, record, temporaryFolders } from './helpers.js';

const folder = temporaryFolders('go-journal-');

/** An output as an earlier run left it: two lines, and 100 bytes of arrays. */
function earlierRun(dir: string): { output: string; arrays: string; lines: string; bytes: Buffer } {
  const output = path.join(dir, 'results.jsonl');
  const arrays = path.join(dir, 'results.arrays');
  const lines = `${JSON.stringify(record('old-1', 1))}\n${JSON.stringify(record('old-2', 2))}\n`;
  const bytes = Buffer.from(Array.from({ length: 100 }, (_, i) => 200 - i));
  writeFileSync(output, lines);
  writeFileSync(arrays, bytes);
  return { output, arrays, lines, bytes };
}

describe('Journal: the output file', () => {
  it('names the arrays file after the output', () => {
    expect(arraysPathFor('/r/results.jsonl')).toBe('/r/results.arrays');
    expect(arraysPathFor('/r/out.json')).toBe('/r/out.json.arrays');
    expect(arraysPathFor('results.jsonl')).toBe('results.arrays');
  });

  it('writes one line per record in the order appended: arrays as references, bytes as base64, failures with their error', () => {
    const dir = folder();
    const output = path.join(dir, 'results.jsonl');
    const journal = new Journal(output, 'create');
    journal.append([
      record('a', { emb: float32([1, 2, 3]), raw: new Uint8Array([0, 255]) }),
      record('b', [float32([4, 5, 6, 7], [2, 2])]),
    ]);
    journal.append([{ ...record('c', undefined), ok: false, error: { type: 'ValueError', message: 'bad', traceback: 'Traceback...' } }]);
    journal.close();

    const lines = readLines(output);
    expect(lines.map((line) => line.id)).toEqual(['a', 'b', 'c']);
    expect(lines[0]).toEqual({
      id: 'a', index: 0, input: 'a.png', ok: true, device: 'cpu:0', replica: 0, attempts: 1, duration: 0.25,
      result: {
        emb: { __ndarray__: { dtype: 'float32', shape: [3], file: 'results.arrays', offset: 0 } },
        raw: { __bytes__: Buffer.from([0, 255]).toString('base64') },
      },
    });
    // 12 bytes at 0, so the next array starts at the next multiple of 64
    expect(lines[1]!.result).toEqual([{ __ndarray__: { dtype: 'float32', shape: [2, 2], file: 'results.arrays', offset: 64 } }]);
    expect(lines[2]).toEqual({
      id: 'c', index: 0, input: 'c.png', ok: false, device: 'cpu:0', replica: 0, attempts: 1, duration: 0.25,
      error: { type: 'ValueError', message: 'bad', traceback: 'Traceback...' },
    });
    expect(new Float32Array(Uint8Array.from(loadArrayBytes(dir, lines[0]!.result.emb.__ndarray__)).buffer)).toEqual(new Float32Array([1, 2, 3]));
    expect(new Float32Array(Uint8Array.from(loadArrayBytes(dir, lines[1]!.result[0].__ndarray__)).buffer)).toEqual(new Float32Array([4, 5, 6, 7]));
  });

  it('starts afresh when created (--overwrite, a new run): the earlier lines and array bytes are gone', () => {
    const dir = folder();
    const { output, arrays } = earlierRun(dir);
    const journal = new Journal(output, 'create');
    journal.append([record('new', { emb: float32([9, 8]) })]);
    journal.close();

    const lines = readLines(output);
    expect(lines.map((line) => line.id)).toEqual(['new']);
    expect(lines[0]!.result.emb.__ndarray__.offset).toBe(0);
    expect(readFileSync(arrays)).toEqual(Buffer.from(new Float32Array([9, 8]).buffer));
  });

  it('continues an existing output when appending (--resume): earlier lines and array bytes stay as they were', () => {
    const dir = folder();
    const { output, arrays, lines: earlierLines, bytes: earlierBytes } = earlierRun(dir);
    const journal = new Journal(output, 'append');
    journal.append([record('new', { emb: float32([9, 8]) })]);
    journal.close();

    const text = readFileSync(output, 'utf8');
    expect(text.startsWith(earlierLines)).toBe(true);
    expect(readLines(output).map((line) => line.id)).toEqual(['old-1', 'old-2', 'new']);
    const ref = readLines(output)[2]!.result.emb.__ndarray__;
    expect(ref.offset).toBe(128); // the next multiple of 64 after the 100 bytes already there
    const blob = readFileSync(arrays);
    expect(blob.subarray(0, 100)).toEqual(earlierBytes);
    expect(blob.subarray(100, 128)).toEqual(Buffer.alloc(28)); // zero padding
    expect(loadArrayBytes(dir, ref)).toEqual(Buffer.from(new Float32Array([9, 8]).buffer));
    expect(blob.length).toBe(136);
  });

  it.each(['create', 'append'] as const)('makes no arrays file when no result holds an array (%s)', (mode) => {
    const dir = folder();
    const output = path.join(dir, 'results.jsonl');
    const journal = new Journal(output, mode);
    journal.append([record('a', { label: 'cat', bytes: new Uint8Array([1]) }), record('b', [1, 2])]);
    journal.close();
    expect(readLines(output).map((line) => line.id)).toEqual(['a', 'b']);
    expect(existsSync(path.join(dir, 'results.arrays'))).toBe(false);
  });

  it('leaves an empty output for a run of zero items', () => {
    const dir = folder();
    const output = path.join(dir, 'results.jsonl');
    new Journal(output, 'create').close();
    expect(readFileSync(output, 'utf8')).toBe('');
    expect(existsSync(path.join(dir, 'results.arrays'))).toBe(false);
  });

  it.runIf(canListDescriptors)('holds neither file open once closed', () => {
    const dir = folder();
    const output = path.join(dir, 'results.jsonl');
    const journal = new Journal(output, 'create');
    journal.append([record('a', { emb: float32([1]) })]);
    expect(openDescriptorsOf(output)).toHaveLength(1);
    expect(openDescriptorsOf(arraysPathFor(output))).toHaveLength(1);
    journal.close();
    expect(openDescriptorsOf(output)).toEqual([]);
    expect(openDescriptorsOf(arraysPathFor(output))).toEqual([]);
  });
});
