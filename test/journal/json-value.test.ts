/**
 * A decoded result as one JSON line (README, "Output"): plain values as JSON.stringify writes
 * them, arrays as references to the .arrays file, bytes as base64, integers beyond 2^53 exactly,
 * NaN and infinities as null.
 */
import { describe, expect, it } from 'vitest';
import { toJsonLine, type ArrayRef } from '../../src/journal/json-value.js';
import { NdArray } from '../../src/transport/codec.js';
import { float32 } from './helpers.js';

/** The arrays file's side of toJsonLine: takes each array in turn, 64 bytes apart. */
function arraysFile(): { taken: NdArray[]; write: (array: NdArray) => ArrayRef } {
  const taken: NdArray[] = [];
  return {
    taken,
    write: (array) => {
      taken.push(array);
      return { dtype: array.dtype, shape: array.shape, file: 'out.arrays', offset: 64 * (taken.length - 1) };
    },
  };
}

const line = (value: Record<string, unknown>): string => toJsonLine(value, arraysFile().write);

// Values JSON has a form for, nested as results are.
const PLAIN: Record<string, unknown> = {
  text: 'a "quoted" \\ line\nwith \u0000 and ünïcode',
  digits: '12345',
  numbers: [0, -1, 2.5, 1e-300, Number.MAX_SAFE_INTEGER],
  flags: [true, false],
  nothing: null,
  nested: { list: [[1, [2, [3]]], [], {}], empty: '', deeper: { nulls: [null, null] } },
};

describe('toJsonLine', () => {
  it('writes plain values as JSON.stringify does, also beside values that need converting', () => {
    expect(line(PLAIN)).toBe(JSON.stringify(PLAIN));
    // A bigint or an array elsewhere in the record sends it through the converting path.
    expect(line({ ...PLAIN, big: 1n })).toBe(`${JSON.stringify(PLAIN).slice(0, -1)},"big":1}`);
    const withArray = JSON.parse(line({ ...PLAIN, emb: float32([1]) }));
    expect(withArray).toEqual({ ...JSON.parse(JSON.stringify(PLAIN)), emb: { __ndarray__: { dtype: 'float32', shape: [1], file: 'out.arrays', offset: 0 } } });
  });

  it('writes NaN and the infinities as null: JSON has no form for them', () => {
    const floats = { nan: Number.NaN, inf: Number.POSITIVE_INFINITY, ninf: Number.NEGATIVE_INFINITY, list: [1, Number.NaN] };
    const expected = { nan: null, inf: null, ninf: null, list: [1, null] };
    expect(JSON.parse(line(floats))).toEqual(expected);
    expect(JSON.parse(line({ ...floats, big: 2n ** 60n }))).toEqual({ ...expected, big: 2 ** 60 });
  });

  it('leaves out fields that are undefined, and writes undefined in a list as null', () => {
    const value = { id: 'a', result: undefined, list: [undefined, 1] };
    expect(line(value)).toBe('{"id":"a","list":[null,1]}');
    expect(line({ ...value, big: 1n })).toBe('{"id":"a","list":[null,1],"big":1}');
    expect(line({ result: undefined, id: 'b' })).toBe('{"id":"b"}');
  });

  it('writes integers beyond 2^53 exactly, wherever they are, and leaves strings of digits strings', () => {
    const value = {
      id: '42',
      max: 2n ** 64n - 1n,
      min: -(2n ** 63n),
      list: [2n ** 53n + 1n, 5n, '7'],
      nested: { again: 2n ** 64n - 1n },
    };
    expect(line(value)).toBe(
      '{"id":"42","max":18446744073709551615,"min":-9223372036854775808,"list":[9007199254740993,5,"7"],"nested":{"again":18446744073709551615}}',
    );
  });

  it('takes no string of the result for a marked integer', () => {
    // How a bigint travels through JSON.stringify must not be something a result can hold.
    const lookalikes = ['\u0000bigint-:5', '\u0000bigint-000000000000:5', '"5"', 'bigint:5'];
    expect(JSON.parse(line({ lookalikes, big: 1n }))).toEqual({ lookalikes, big: 1 });
  });

  it('writes bytes as base64, only the bytes of a view', () => {
    const message = Uint8Array.from({ length: 16 }, (_, i) => i * 16);
    const value = { raw: message.subarray(4, 7), buffer: Buffer.from('hi'), empty: new Uint8Array(0) };
    expect(JSON.parse(line(value))).toEqual({
      raw: { __bytes__: Buffer.from([64, 80, 96]).toString('base64') },
      buffer: { __bytes__: 'aGk=' },
      empty: { __bytes__: '' },
    });
  });

  it('hands every array to the arrays file in document order and writes its reference in its place', () => {
    const file = arraysFile();
    const [a, b, c] = [float32([1]), float32([2, 3]), float32([4, 5, 6, 7], [2, 2])];
    const text = toJsonLine({ embedding: a, rest: [b, { deep: c }] }, file.write);
    expect(file.taken).toEqual([a, b, c]);
    const ref = (array: NdArray, offset: number) => ({ __ndarray__: { dtype: 'float32', shape: array.shape, file: 'out.arrays', offset } });
    expect(JSON.parse(text)).toEqual({ embedding: ref(a, 0), rest: [ref(b, 64), { deep: ref(c, 128) }] });
  });

  it('writes a value of arrays, bytes or large integers only, with no plain field beside them', () => {
    expect(line({ embedding: float32([1]) })).toBe('{"embedding":{"__ndarray__":{"dtype":"float32","shape":[1],"file":"out.arrays","offset":0}}}');
    expect(line({ blob: new Uint8Array([1]) })).toBe('{"blob":{"__bytes__":"AQ=="}}');
    expect(line({ big: 2n ** 64n - 1n })).toBe('{"big":18446744073709551615}');
  });

  it('converts an array, bytes or a large integer that sits in a list beside plain entries', () => {
    expect(line({ list: [1, float32([2])] })).toBe('{"list":[1,{"__ndarray__":{"dtype":"float32","shape":[1],"file":"out.arrays","offset":0}}]}');
    expect(line({ list: ['a', new Uint8Array([1])] })).toBe('{"list":["a",{"__bytes__":"AQ=="}]}');
    expect(line({ list: [null, 2n ** 60n] })).toBe('{"list":[null,1152921504606846976]}');
  });

  it('writes a Map as an object with string keys', () => {
    const value = { map: new Map<unknown, unknown>([[1, 'one'], ['two', [2n ** 60n]], [3, new Map([['x', null]])]]) };
    // (integer-like keys come first in a JavaScript object, and so in the line)
    expect(line(value)).toBe('{"map":{"1":"one","3":{"x":null},"two":[1152921504606846976]}}');
  });
});
