/**
 * compare's numbers: numpy.allclose's test, and arrays of every dtype an output holds read back
 * from an .arrays file as the journal writes them (little-endian, at an offset).
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ArrayFiles, type ArrayRef } from '../../src/compare/arrays.js';
import { arrayGap, realGap } from '../../src/compare/tolerance.js';
import type { Dtype } from '../../src/transport/codec.js';

const defaults = { rtol: 1e-5, atol: 1e-8 };
const dir = mkdtempSync(path.join(tmpdir(), 'go-compare-unit-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('realGap: numpy.allclose, |got - expected| <= atol + rtol * |expected|', () => {
  it.each([
    [1.0, 1.0, true],
    [100.0005, 100, true], // 0.0005 <= 1e-8 + 1e-3
    [100.002, 100, false],
    [1e-9, 0, true], // atol
    [1e-7, 0, false],
    [NaN, NaN, true], // a NaN where the reference has one
    [NaN, 1, false],
    [Infinity, Infinity, true],
    [-Infinity, Infinity, false],
    [1e308, Infinity, false],
  ])('%f against %f: within is %s', (got, expected, within) => {
    expect(realGap(got, expected, defaults).within).toBe(within);
  });

  it('measures abs and rel against the reference', () => {
    expect(realGap(1.5, 1, defaults)).toEqual({ within: false, abs: 0.5, rel: 0.5 });
    expect(realGap(0.5, 0, defaults)).toEqual({ within: false, abs: 0.5, rel: Infinity });
  });
});

/** Writes `bytes` at offset 64 of a file of its own and reads them back as `dtype`. */
function readBack(dtype: Dtype, shape: number[], bytes: Buffer) {
  const file = `${dtype}-${Math.random().toString(36).slice(2)}.arrays`;
  writeFileSync(path.join(dir, file), Buffer.concat([Buffer.alloc(64), bytes]));
  const files = new ArrayFiles(dir, 'out.jsonl');
  const ref: ArrayRef = { dtype, shape, file, offset: 64 };
  try {
    return files.read(ref, 'test');
  } finally {
    files.close();
  }
}

function float32(values: number[]): Buffer {
  const buffer = Buffer.alloc(values.length * 4);
  values.forEach((value, index) => buffer.writeFloatLE(value, index * 4));
  return buffer;
}

describe('arrays read back and compared', () => {
  it('float32: the worst element out of tolerance, with the largest errors over the array', () => {
    const expected = readBack('float32', [2, 2], float32([1, 2, 3, 4]));
    const got = readBack('float32', [2, 2], float32([1, 2.5, 3, 4.000001]));
    const gap = arrayGap(got, expected, 4, defaults);
    expect(gap).toMatchObject({ within: false, maxAbs: 0.5, maxRel: 0.25, worst: { index: 1, got: '2.5', expected: '2' } });
    expect(arrayGap(expected, expected, 4, defaults).within).toBe(true);
  });

  it('float16 and bfloat16 decode to their values', () => {
    // float16 0x3c00 = 1, 0xc000 = -2, 0x3555 ~ 0.33325; bfloat16 0x3f80 = 1, 0x4049 ~ 3.140625
    const half = readBack('float16', [3], Buffer.from([0x00, 0x3c, 0x00, 0xc0, 0x55, 0x35]));
    expect(Array.from(half.values as Float64Array)).toEqual([1, -2, 0.333251953125]);
    const brain = readBack('bfloat16', [2], Buffer.from([0x80, 0x3f, 0x49, 0x40]));
    expect(Array.from(brain.values as Float64Array)).toEqual([1, 3.140625]);
  });

  it('int64 stays exact beyond 2^53; complex compares by modulus', () => {
    const big = Buffer.alloc(16);
    big.writeBigInt64LE(2n ** 60n, 0);
    big.writeBigInt64LE(2n ** 60n + 1n, 8);
    const a = readBack('int64', [1], big.subarray(0, 8));
    const b = readBack('int64', [1], big.subarray(8, 16));
    // As doubles they are equal; their distance is taken exactly: 1.
    expect(arrayGap(a, b, 1, { rtol: 0, atol: 0 })).toMatchObject({ within: false, maxAbs: 1, worst: { got: String(2n ** 60n), expected: String(2n ** 60n + 1n) } });
    expect(arrayGap(a, b, 1, { rtol: 0, atol: 1 }).within).toBe(true);
    expect(arrayGap(a, a, 1, { rtol: 0, atol: 0 }).within).toBe(true);
    const z1 = readBack('complex64', [1], float32([3, 4]));
    const z2 = readBack('complex64', [1], float32([3, 4.5]));
    expect(arrayGap(z2, z1, 1, { rtol: 0, atol: 0.6 }).within).toBe(true);
    expect(arrayGap(z2, z1, 1, { rtol: 0, atol: 0.4 })).toMatchObject({ within: false, maxAbs: 0.5, maxRel: 0.1, worst: { got: '3+4.5j', expected: '3+4j' } });
  });

  it('an array past the end of its file is bad input, with the file named', () => {
    expect(() => readBack('float64', [4], Buffer.alloc(16))).toThrow(/the array at offset 64 \(32 bytes\) lies past the end of .*float64-.*\.arrays \(80 bytes\)/);
  });
});
