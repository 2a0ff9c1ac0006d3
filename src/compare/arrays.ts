/**
 * An output's arrays read back from its .arrays file ({"__ndarray__": {dtype, shape, file,
 * offset}}: raw little-endian C-order bytes at `offset` in `file`, named relative to the output's
 * folder), as numbers to compare.
 */
import { closeSync, fstatSync, openSync, readSync } from 'node:fs';
import path from 'node:path';
import { UsageError } from '../errors.js';
import { DTYPES, type Dtype } from '../transport/codec.js';

export interface ArrayRef {
  dtype: Dtype;
  shape: number[];
  file: string;
  offset: number;
}

/**
 * An array's values: `real` for every dtype but 64-bit integers (which stay exact as bigints)
 * and complex ones (interleaved real and imaginary parts).
 */
export type ArrayValues = { kind: 'real'; values: Float64Array } | { kind: 'bigint'; values: BigInt64Array | BigUint64Array } | { kind: 'complex'; values: Float64Array };

const ITEM_BYTES: Record<Dtype, number> = {
  bool: 1, int8: 1, uint8: 1, int16: 2, uint16: 2, float16: 2, bfloat16: 2,
  int32: 4, uint32: 4, float32: 4, int64: 8, uint64: 8, float64: 8, complex64: 8, complex128: 16,
};

/** IEEE 754 half precision, which DataView cannot read on Node 20. */
function float16(bits: number): number {
  const sign = bits & 0x8000 ? -1 : 1;
  const exponent = (bits >> 10) & 0x1f;
  const fraction = bits & 0x3ff;
  if (exponent === 0) return sign * 2 ** -14 * (fraction / 1024);
  if (exponent === 0x1f) return fraction ? NaN : sign * Infinity;
  return sign * 2 ** (exponent - 15) * (1 + fraction / 1024);
}

function decode(dtype: Dtype, bytes: Buffer, count: number): ArrayValues {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (dtype === 'int64' || dtype === 'uint64') {
    const values = dtype === 'int64' ? new BigInt64Array(count) : new BigUint64Array(count);
    for (let i = 0; i < count; i += 1) values[i] = dtype === 'int64' ? view.getBigInt64(i * 8, true) : view.getBigUint64(i * 8, true);
    return { kind: 'bigint', values };
  }
  if (dtype === 'complex64' || dtype === 'complex128') {
    const values = new Float64Array(count * 2);
    for (let i = 0; i < count * 2; i += 1) values[i] = dtype === 'complex64' ? view.getFloat32(i * 4, true) : view.getFloat64(i * 8, true);
    return { kind: 'complex', values };
  }
  const read: Record<string, (i: number) => number> = {
    bool: (i) => view.getUint8(i),
    int8: (i) => view.getInt8(i),
    uint8: (i) => view.getUint8(i),
    int16: (i) => view.getInt16(i * 2, true),
    uint16: (i) => view.getUint16(i * 2, true),
    int32: (i) => view.getInt32(i * 4, true),
    uint32: (i) => view.getUint32(i * 4, true),
    float16: (i) => float16(view.getUint16(i * 2, true)),
    // bfloat16: the upper half of a float32.
    bfloat16: (i) => new Float32Array(new Uint32Array([view.getUint16(i * 2, true) << 16]).buffer)[0] as number,
    float32: (i) => view.getFloat32(i * 4, true),
    float64: (i) => view.getFloat64(i * 8, true),
  };
  const at = read[dtype] as (i: number) => number;
  const values = new Float64Array(count);
  for (let i = 0; i < count; i += 1) values[i] = at(i);
  return { kind: 'real', values };
}

/** The reference inside {"__ndarray__": ...}, checked: a malformed one is bad input. */
export function arrayRef(value: unknown, where: string): ArrayRef {
  const ref = value as Partial<Record<keyof ArrayRef, unknown>>;
  const shape = Array.isArray(ref?.shape) ? ref.shape.map(Number) : undefined;
  const offset = Number(ref?.offset);
  if (typeof ref?.dtype !== 'string' || !(DTYPES as readonly string[]).includes(ref.dtype) || !shape || shape.some((n) => !Number.isInteger(n) || n < 0) || typeof ref.file !== 'string' || !Number.isInteger(offset) || offset < 0) {
    throw new UsageError(`${where}: a malformed array reference ${JSON.stringify(value)}; expected {"dtype", "shape", "file", "offset"} as gpu-orchestrate writes it`);
  }
  return { dtype: ref.dtype as Dtype, shape, file: ref.file, offset };
}

/** The .arrays files of one output, opened once each. */
export class ArrayFiles {
  private readonly open = new Map<string, { fd: number; size: number }>();

  constructor(
    /** The output's folder: `file` in a reference is named relative to it. */
    private readonly folder: string,
    /** The output's path as given, for messages. */
    private readonly output: string,
  ) {}

  read(ref: ArrayRef, where: string): ArrayValues {
    const file = path.resolve(this.folder, ref.file);
    let opened = this.open.get(file);
    if (!opened) {
      let fd: number;
      try {
        fd = openSync(file, 'r');
      } catch (error) {
        throw new UsageError(`${where}: the array file ${file} of ${this.output} cannot be read (${(error as NodeJS.ErrnoException).code ?? String(error)}); it must lie beside the output, as the run wrote it`);
      }
      opened = { fd, size: fstatSync(fd).size };
      this.open.set(file, opened);
    }
    const count = ref.shape.reduce((a, b) => a * b, 1);
    const length = count * ITEM_BYTES[ref.dtype];
    if (ref.offset + length > opened.size) {
      throw new UsageError(`${where}: the array at offset ${ref.offset} (${length} bytes) lies past the end of ${file} (${opened.size} bytes): the file is not the one this output was written with`);
    }
    const bytes = Buffer.alloc(length);
    if (length > 0) readSync(opened.fd, bytes, 0, length, ref.offset);
    return decode(ref.dtype, bytes, count);
  }

  close(): void {
    for (const { fd } of this.open.values()) closeSync(fd);
    this.open.clear();
  }
}
