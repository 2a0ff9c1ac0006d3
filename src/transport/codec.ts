/**
 * msgpack with arrays, the twin of python/gpu_orchestrate_worker/codec.py.
 *
 * Arrays travel as extension type 1 whose payload is msgpack [dtype, shape, raw bytes]
 * (little-endian, C order), or, from 64 KiB up, as extension type 2, [dtype, shape, n]: the bytes
 * are the n-th ZeroMQ frame after the message's own (decode() is given those frames). The
 * controller never computes on arrays: it keeps their bytes as received and hands them to the
 * journal, so an NdArray is a view of the message or of its frame, not a copy.
 */
import { Packr, Unpackr, addExtension } from 'msgpackr';

export const NDARRAY_EXT = 1;
export const ARRAY_FRAME_EXT = 2;

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



// Plain maps both ways (no msgpackr records, which Python could not read); 64-bit integers come
// back as numbers when exact and as BigInt otherwise, so nothing is rounded.
// ('auto' is documented in msgpackr's README but missing from its type definitions.)
const int64AsType = 'auto' as unknown as 'bigint';
const packr = new Packr({ useRecords: false, moreTypes: false, int64AsType, useBigIntExtension: false });
const unpackr = new Unpackr({ useRecords: false, mapsAsObjects: true, int64AsType });

/**
 * Reads the payload [dtype, shape, bytes or frame number] as the two encoders write it (fixarray
 * of 3, a str, an array of unsigned integers, then a bin or an unsigned integer) without a nested
 * msgpackr unpack: msgpackr copies the whole message being decoded on every nested unpack
 * (saveState), so a batch of n arrays cost n copies of the batch. The bytes come back as a view
 * into the message, not a copy. Returns undefined for any other layout, which then goes through
 * msgpackr as before.
 */
function readArrayPayload(payload: Uint8Array): [string, number[], Uint8Array | number] | undefined {
  const view = new DataView(payload.buffer, payload.byteOffset, payload.byteLength);
  let at = 0;
  const byte = (): number => view.getUint8(at++);
  try {
    if (byte() !== 0x93) return undefined;
    let head = byte();
    let length: number;
    if (head >= 0xa0 && head <= 0xbf) length = head - 0xa0;
    else if (head === 0xd9) length = byte();
    else return undefined;
    const dtype = Buffer.from(payload.buffer, payload.byteOffset + at, length).toString('utf8');
    at += length;
    head = byte();
    let count: number;
    if (head >= 0x90 && head <= 0x9f) count = head - 0x90;
    else if (head === 0xdc) {
      count = view.getUint16(at);
      at += 2;
    } else return undefined;
    const shape: number[] = [];
    for (let i = 0; i < count; i += 1) {
      head = byte();
      if (head <= 0x7f) shape.push(head);
      else if (head === 0xcc) shape.push(byte());
      else if (head === 0xcd) {
        shape.push(view.getUint16(at));
        at += 2;
      } else if (head === 0xce) {
        shape.push(view.getUint32(at));
        at += 4;
      } else return undefined;
    }
    head = byte();
    let size: number;
    if (head <= 0x7f || head === 0xcc || head === 0xcd || head === 0xce) {
      // A frame's number (extension type 2).
      const frame = head <= 0x7f ? head : head === 0xcc ? byte() : head === 0xcd ? view.getUint16(at) : view.getUint32(at);
      at += head === 0xcd ? 2 : head === 0xce ? 4 : 0;
      return at === payload.byteLength ? [dtype, shape, frame] : undefined;
    }
    if (head === 0xc4) size = byte();
    else if (head === 0xc5) {
      size = view.getUint16(at);
      at += 2;
    } else if (head === 0xc6) {
      size = view.getUint32(at);
      at += 4;
    } else return undefined;
    if (at + size !== payload.byteLength) return undefined;
    return [dtype, shape, payload.subarray(at, at + size)];
  } catch {
    return undefined; // ran off the end: let msgpackr say what is wrong
  }
}

/** The array frames of the message being decoded (decode() sets them; decoding is synchronous). */
let messageFrames: readonly Uint8Array[] = [];

function unpackArray(payload: Uint8Array, what: 'bytes' | 'frame'): NdArray {
  const triple = readArrayPayload(payload) ?? (unpackr.unpack(payload) as unknown);
  if (!Array.isArray(triple) || triple.length !== 3) throw new TypeError(`array extension: expected [dtype, shape, ${what}]`);
  const [dtype, shape, held] = triple as unknown[];
  if (!isDtype(dtype)) throw new TypeError(`array extension: unknown dtype ${JSON.stringify(dtype)}`);
  if (!Array.isArray(shape) || !shape.every((n) => Number.isInteger(n) && n >= 0)) throw new TypeError('array extension: bad shape');
  let data: unknown = held;
  if (what === 'frame') {
    if (typeof held !== 'number' || !Number.isInteger(held) || held < 0 || held >= messageFrames.length) {
      throw new TypeError(`array extension: frame ${JSON.stringify(held)} named, the message has ${messageFrames.length} array frame(s)`);
    }
    data = messageFrames[held];
  }
  if (!(data instanceof Uint8Array)) throw new TypeError('array extension: data is not bytes');
  return new NdArray(dtype, shape as number[], data);
}

// pack/unpack (not msgpackr's write/read, whose inline layout only msgpackr reads): the
// extension's payload is a standalone msgpack document, as Python's ext_hook expects.
addExtension({
  Class: NdArray,
  type: NDARRAY_EXT,
  pack(array: NdArray) {
    return packr.pack([array.dtype, array.shape, array.data]);
  },
  unpack: (payload: Uint8Array) => unpackArray(payload, 'bytes'),
});
// Only received: the controller sends no arrays.
addExtension({ type: ARRAY_FRAME_EXT, unpack: (payload: Uint8Array) => unpackArray(payload, 'frame') });

/**
 * msgpackr writes whole numbers beyond 32 bits as float64, so Python would receive 5000000000.0
 * for an item's 5000000000. Such integers are turned into BigInt (packed as int64/uint64) first;
 * values that hold none are packed as they are, without a copy.
 */
function widenIntegers(value: unknown): unknown {
  if (typeof value === 'number') {
    return Number.isInteger(value) && (value > 0xffffffff || value < -0x80000000) && Number.isSafeInteger(value) ? BigInt(value) : value;
  }
  if (value === null || typeof value !== 'object' || value instanceof NdArray || ArrayBuffer.isView(value)) return value;
  if (Array.isArray(value)) {
    let copy: unknown[] | undefined;
    for (let i = 0; i < value.length; i += 1) {
      const widened = widenIntegers(value[i]);
      if (widened !== value[i]) (copy ??= value.slice())[i] = widened;
    }
    return copy ?? value;
  }
  let copy: Record<string, unknown> | undefined;
  for (const key of Object.keys(value)) {
    const entry = (value as Record<string, unknown>)[key];
    const widened = widenIntegers(entry);
    if (widened !== entry) (copy ??= { ...(value as Record<string, unknown>) })[key] = widened;
  }
  return copy ?? value;
}

export function encode(value: unknown): Buffer {
  return packr.pack(widenIntegers(value));
}

/** A message's value; `frames`: the message's array frames (those after its first), named by extension type 2. */
export function decode(data: Uint8Array, frames: readonly Uint8Array[] = []): unknown {
  messageFrames = frames;
  try {
    return unpackr.unpack(data);
  } finally {
    messageFrames = [];
  }
}
