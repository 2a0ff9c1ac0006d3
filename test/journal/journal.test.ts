import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { Journal, arraysPathFor } from '../../src/journal/journal.js';
import { NdArray } from '../../src/transport/codec.js';

function float32(values: number[], shape: number[]): NdArray {
  return new NdArray('float32', shape, new Uint8Array(new Float32Array(values).buffer));
}

describe('Journal', () => {
  it('names the arrays file after the output', () => {
    expect(arraysPathFor('/r/results.jsonl')).toBe('/r/results.arrays');
    expect(arraysPathFor('/r/out.json')).toBe('/r/out.json.arrays');
  });

  it('writes one line per record, arrays into the aligned arrays file, bytes as base64, big integers exactly', () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'go-journal-'));
    const output = path.join(dir, 'results.jsonl');
    const journal = new Journal(output);
    const where = { device: 'cpu:0', replica: 0, attempts: 1, duration: 0.5 };
    journal.append([
      { id: 'a', input: 'a.png', ok: true, result: { emb: float32([1, 2, 3], [3]), raw: new Uint8Array([0, 255]), big: 2n ** 63n - 1n }, ...where },
      { id: 'b', input: 'b.png', ok: true, result: [float32([4, 5, 6, 7], [2, 2])], ...where },
    ]);
    journal.append([{ id: 'c', input: 'c.png', ok: false, error: { type: 'ValueError', message: 'bad', traceback: 'Traceback...' }, ...where }]);
    journal.close();

    const text = readFileSync(output, 'utf8');
    expect(text).toContain('"big":9223372036854775807');
    const lines = text.trim().split('\n').map((line) => JSON.parse(line));
    expect(lines.map((line) => line.id)).toEqual(['a', 'b', 'c']);
    expect(lines[0].result.raw).toEqual({ __bytes__: Buffer.from([0, 255]).toString('base64') });
    const first = lines[0].result.emb.__ndarray__;
    const second = lines[1].result[0].__ndarray__;
    expect(first).toEqual({ dtype: 'float32', shape: [3], file: 'results.arrays', offset: 0 });
    expect(second.offset % 64).toBe(0);
    const blob = readFileSync(path.join(dir, 'results.arrays'));
    expect(Array.from(new Float32Array(blob.buffer.slice(blob.byteOffset + second.offset, blob.byteOffset + second.offset + 16)))).toEqual([4, 5, 6, 7]);
    expect(lines[2]).toMatchObject({ ok: false, error: { type: 'ValueError', message: 'bad' } });
  });
});
