/**
 * msgpack with arrays, the twin of python/gpu_orchestrate_worker/codec.py.
 *
 * Arrays travel as extension type 1 whose payload is msgpack [dtype, shape, raw bytes]
 * (little-endian, C order). The controller never computes on arrays: it keeps their bytes as
 * received and hands them to the journal, so an NdArray is a view, not a copy.
 */
import { Packr, Unpackr, addExtension } from 'msgpackr';

export const NDARRAY_EXT = 1;

export const DTYPES = [
  'bool', 'int8', 'int16', 'int32', 'int64', 'uint8', 'uint16', 'uint32', 'uint64',
  'float16', 'float32', 'float64', 'complex64', 'complex128', 'bfloat16',
] as const;
export type Dtype = (typeof DTYPES)[number];

const ITEM_SIZE: Record<Dtype, number> = {
  bool: 1, int8: 1, uint8: 1, int16: 2, uint16: 2, float16: 2, bfloat16: 2,
  int32: 4, uint32: 4, float32: 4, int64: 8, uint64: 8, float64: 8, complex64: 8, complex128: 16,
};

export class NdArray {
  constructor(
    readonly dtype: Dtype,
    readonly shape: readonly number[],
    readonly data: Uint8Array,
  ) {
    const expected = shape.reduce((a, b) => a * b, 1) * ITEM_SIZE[dtype];
    if (data.byteLength !== expected) {
      throw new RangeError(`an array of dtype ${dtype} and shape [${shape.join(', ')}] needs ${expected} bytes, got ${data.byteLength}`);
    }
  }
}

function isDtype(value: unknown): value is Dtype {
  return typeof value === 'string' && (DTYPES as readonly string[]).includes(value);
}

addExtension({
  Class: NdArray,
  type: NDARRAY_EXT,
  write(array: NdArray) {
    return [array.dtype, array.shape, array.data];
  },
  read(payload: unknown) {
    if (!Array.isArray(payload) || payload.length !== 3) throw new TypeError('array extension: expected [dtype, shape, bytes]');
    const [dtype, shape, data] = payload as unknown[];
    if (!isDtype(dtype)) throw new TypeError(`array extension: unknown dtype ${JSON.stringify(dtype)}`);
    if (!Array.isArray(shape) || !shape.every((n) => Number.isInteger(n) && n >= 0)) throw new TypeError('array extension: bad shape');
    if (!(data instanceof Uint8Array)) throw new TypeError('array extension: data is not bytes');
    return new NdArray(dtype, shape as number[], data);
  },
});

// Plain maps both ways (no msgpackr records, which Python could not read); 64-bit integers come
// back as numbers when exact and as BigInt otherwise, so nothing is rounded.
// ('auto' is documented in msgpackr's README but missing from its type definitions.)
const int64AsType = 'auto' as unknown as 'bigint';
const packr = new Packr({ useRecords: false, moreTypes: false, int64AsType, useBigIntExtension: false });
const unpackr = new Unpackr({ useRecords: false, mapsAsObjects: true, int64AsType });

export function encode(value: unknown): Buffer {
  return packr.pack(value);
}

export function decode(data: Uint8Array): unknown {
  return unpackr.unpack(data);
}
