/**
 * The .arrays file as the README promises it to a numpy user: each array's raw bytes at the
 * offset its line names, every offset a multiple of 64 (so np.memmap views are aligned), zeros in
 * between, and np.fromfile(file, dtype, count=prod(shape), offset) gives the array back.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { Journal } from '../../src/journal/journal.js';
import { NdArray } from '../../src/transport/codec.js';
import { ITEM_SIZE, counting, loadArrayBytes, readLines, record, temporaryFolders, type ArrayRefJson } from './helpers.js';

const folder = temporaryFolders('go-arrays-');

describe('Journal: the .arrays file', () => {
  it('puts each array at the next multiple of 64, zero-padded, loadable with dtype, shape and offset', () => {
    const dir = folder();
    const output = path.join(dir, 'results.jsonl');
    const arrays: NdArray[] = [
      counting('uint8', [3]), //         3 bytes
      counting('float64', [2, 3]), //   48 bytes
      counting('bool', [64]), //        64 bytes: ends exactly on a multiple of 64
      counting('int16', [0]), //         0 bytes
      counting('complex64', [1]), //     8 bytes
      counting('bfloat16', [5]), //     10 bytes
    ];
    const journal = new Journal(output, 'create');
    // spread over two batches, nested in lists and dicts as results are
    journal.append([record('a', { first: arrays[0], more: [arrays[1], { deep: arrays[2] }] })]);
    journal.append([record('b', arrays[3]), record('c', [[arrays[4]], arrays[5]])]);
    journal.close();

    const [a, b, c] = readLines(output).map((line) => line.result);
    const refs: ArrayRefJson[] = [a.first, a.more[0], a.more[1].deep, b, c[0][0], c[1]].map((value) => value.__ndarray__);
    expect(refs.map((ref) => ref.offset)).toEqual([0, 64, 128, 192, 192, 256]);
    refs.forEach((ref, i) => {
      const array = arrays[i]!;
      expect(ref).toEqual({ dtype: array.dtype, shape: array.shape, file: 'results.arrays', offset: ref.offset });
      expect(ref.offset % 64).toBe(0);
      expect(loadArrayBytes(dir, ref)).toEqual(Buffer.from(array.data));
    });

    const blob = readFileSync(path.join(dir, 'results.arrays'));
    expect(blob.length).toBe(256 + 5 * ITEM_SIZE.bfloat16); // no padding after the last array
    const padding = [blob.subarray(3, 64), blob.subarray(112, 128), blob.subarray(200, 256)];
    for (const gap of padding) expect(gap.every((byte) => byte === 0)).toBe(true);
  });

  it('gives numbers back in little-endian order, as np.fromfile reads them', () => {
    const dir = folder();
    const output = path.join(dir, 'results.jsonl');
    const values = [1.5, -2, 3.25, 1e-7, -0];
    const bytes = Buffer.alloc(values.length * 8);
    values.forEach((value, i) => bytes.writeDoubleLE(value, i * 8));
    const journal = new Journal(output, 'create');
    journal.append([record('pad', new NdArray('uint8', [1], new Uint8Array([7]))), record('x', new NdArray('float64', [5], bytes))]);
    journal.close();

    const ref = readLines(output)[1]!.result.__ndarray__ as ArrayRefJson;
    const loaded = loadArrayBytes(dir, ref);
    expect(ref.offset).toBe(64);
    expect(Array.from({ length: values.length }, (_, i) => loaded.readDoubleLE(i * 8))).toEqual(values);
  });

  it('keeps the bytes of a view into a larger message, not the whole message', () => {
    const dir = folder();
    const output = path.join(dir, 'results.jsonl');
    const message = Uint8Array.from({ length: 32 }, (_, i) => i);
    const journal = new Journal(output, 'create');
    journal.append([record('v', new NdArray('int32', [2], message.subarray(8, 16)))]);
    journal.close();

    const ref = readLines(output)[0]!.result.__ndarray__ as ArrayRefJson;
    expect(loadArrayBytes(dir, ref)).toEqual(Buffer.from([8, 9, 10, 11, 12, 13, 14, 15]));
    expect(readFileSync(path.join(dir, 'results.arrays')).length).toBe(8);
  });
});
