/**
 * Two output lines of the same item, field by field: arrays numerically (dtype and shape must
 * match), other numbers within the same tolerances unless both are integers (compared exactly,
 * beyond 2^53 too: lines are parsed losslessly), everything else exactly. Ignored fields are left
 * out wherever they are.
 */
import { isLosslessNumber, type LosslessNumber } from 'lossless-json';
import { arrayRef, type ArrayFiles } from './arrays.js';
import { arrayGap, realGap, type Tolerance } from './tolerance.js';

/** One difference: the row of compare's table. */
export interface Difference {
  id: string;
  /** The field's path in the line: `result.embedding`, `result.boxes[2].score`, `ok`, or `(item)`. */
  field: string;
  expected: string;
  got: string;
  maxAbs?: number;
  maxRel?: number;
}

export interface CompareContext {
  tolerance: Tolerance;
  /** Dotted paths left out (`device`, `result.timing`); a list position is not part of a path. */
  ignore: readonly string[];
  got: ArrayFiles;
  expected: ArrayFiles;
  /** Arrays compared so far, for the verdict. */
  arrays: number;
}

export type Json = null | boolean | string | LosslessNumber | Json[] | { [key: string]: Json };

function isObject(value: Json): value is { [key: string]: Json } {
  return typeof value === 'object' && value !== null && !Array.isArray(value) && !isLosslessNumber(value);
}

function ndarray(value: Json): Json | undefined {
  return isObject(value) && Object.keys(value).length === 1 && '__ndarray__' in value ? value.__ndarray__ : undefined;
}

/** A value as a table shows it: short. */
export function brief(value: Json | undefined): string {
  if (value === undefined) return '(absent)';
  if (isLosslessNumber(value)) return value.value;
  const array = ndarray(value);
  if (array !== undefined && isObject(array)) return `array ${String(array.dtype)} [${Array.isArray(array.shape) ? array.shape.map(String).join(', ') : ''}]`;
  const text = typeof value === 'string' ? JSON.stringify(value) : JSON.stringify(value, (_, entry: unknown) => (isLosslessNumber(entry) ? Number(entry.value) : entry));
  return text.length > 40 ? `${text.slice(0, 37)}...` : text;
}

function ignored(path: string, context: CompareContext): boolean {
  const plain = path.replace(/\[\d+\]/g, '');
  return context.ignore.some((field) => plain === field || plain.startsWith(`${field}.`));
}

const INTEGER = /^-?\d+$/;

function compareNumbers(id: string, field: string, expected: LosslessNumber, got: LosslessNumber, context: CompareContext, out: Difference[]): void {
  if (INTEGER.test(expected.value) && INTEGER.test(got.value)) {
    if (BigInt(expected.value) !== BigInt(got.value)) out.push({ id, field, expected: expected.value, got: got.value });
    return;
  }
  const gap = realGap(Number(got.value), Number(expected.value), context.tolerance);
  if (!gap.within) out.push({ id, field, expected: expected.value, got: got.value, maxAbs: gap.abs, maxRel: gap.rel });
}

function compareArrays(id: string, field: string, expected: Json, got: Json, context: CompareContext, out: Difference[]): void {
  const where = `item ${JSON.stringify(id)}, ${field}`;
  const a = arrayRef(got, `${where} (OUTPUT)`);
  const b = arrayRef(expected, `${where} (REFERENCE)`);
  context.arrays += 1;
  if (a.dtype !== b.dtype || a.shape.join() !== b.shape.join()) {
    out.push({ id, field, expected: `${b.dtype} [${b.shape.join(', ')}]`, got: `${a.dtype} [${a.shape.join(', ')}]` });
    return;
  }
  const gap = arrayGap(context.got.read(a, `${where} (OUTPUT)`), context.expected.read(b, `${where} (REFERENCE)`), a.shape.reduce((x, y) => x * y, 1), context.tolerance);
  if (!gap.worst) return;
  const index = unravel(gap.worst.index, b.shape);
  out.push({ id, field: `${field}[${index.join(', ')}]`, expected: gap.worst.expected, got: gap.worst.got, maxAbs: gap.maxAbs, maxRel: gap.maxRel });
}

/** A flat C-order index as one index per dimension. */
function unravel(flat: number, shape: number[]): number[] {
  const index: number[] = [];
  for (let dim = shape.length - 1; dim >= 0; dim -= 1) {
    const size = shape[dim] as number;
    index.unshift(flat % size);
    flat = Math.floor(flat / size);
  }
  return index;
}

function join(path: string, key: string): string {
  return path === '' ? key : `${path}.${key}`;
}

/** Appends to `out` every difference between `expected` and `got` under `field`. */
export function compareValues(id: string, field: string, expected: Json | undefined, got: Json | undefined, context: CompareContext, out: Difference[]): void {
  if (field !== '' && ignored(field, context)) return;
  if (expected === undefined || got === undefined) {
    if (expected !== got) out.push({ id, field, expected: brief(expected), got: brief(got) });
    return;
  }
  const expectedArray = ndarray(expected);
  const gotArray = ndarray(got);
  if (expectedArray !== undefined && gotArray !== undefined) return compareArrays(id, field, expectedArray, gotArray, context, out);
  if (isLosslessNumber(expected) && isLosslessNumber(got)) return compareNumbers(id, field, expected, got, context, out);
  if (Array.isArray(expected) && Array.isArray(got)) {
    if (expected.length !== got.length) {
      out.push({ id, field, expected: `a list of ${expected.length}`, got: `a list of ${got.length}` });
      return;
    }
    expected.forEach((entry, index) => compareValues(id, `${field}[${index}]`, entry, got[index], context, out));
    return;
  }
  if (isObject(expected) && isObject(got) && expectedArray === undefined && gotArray === undefined) {
    const keys = [...new Set([...Object.keys(expected), ...Object.keys(got)])];
    for (const key of keys) compareValues(id, join(field, key), expected[key], got[key], context, out);
    return;
  }
  if (expected !== got) out.push({ id, field, expected: brief(expected), got: brief(got) });
}
