/**
 * Decoded results -> JSON text, losslessly:
 *   arrays (NdArray)   -> {"__ndarray__": {dtype, shape, file, offset}}, bytes in the .arrays file
 *   bytes (Uint8Array) -> {"__bytes__": base64}
 *   64-bit integers beyond 2^53 (BigInt) -> written as exact integer literals
 * JSON has no NaN or Infinity: those floats become null (JSON.stringify's rule).
 */
import { randomBytes } from 'node:crypto';
import { NdArray } from '../transport/codec.js';

export interface ArrayRef {
  dtype: string;
  shape: readonly number[];
  file: string;
  offset: number;
}

export type ArrayWriter = (array: NdArray) => ArrayRef;

// BigInts pass through JSON.stringify as marked strings, and the marks are then removed. The
// mark holds a per-process nonce, so no string of the user's can look like one.
const BIGINT_MARK = `\u0000bigint-${randomBytes(6).toString('hex')}:`;
const BIGINT_PATTERN = new RegExp(`"${JSON.stringify(BIGINT_MARK).slice(1, -1).replace(/\\/g, '\\\\')}(-?\\d+)"`, 'g');

function toPlain(value: unknown, writeArray: ArrayWriter, state: { bigint: boolean }): unknown {
  if (value === null || typeof value !== 'object') {
    if (typeof value === 'bigint') {
      state.bigint = true;
      return `${BIGINT_MARK}${value.toString()}`;
    }
    return value;
  }
  if (value instanceof NdArray) return { __ndarray__: writeArray(value) };
  if (value instanceof Uint8Array) return { __bytes__: Buffer.from(value.buffer, value.byteOffset, value.byteLength).toString('base64') };
  if (Array.isArray(value)) return value.map((entry) => toPlain(entry, writeArray, state));
  if (value instanceof Map) {
    const out: Record<string, unknown> = {};
    for (const [key, entry] of value) out[String(key)] = toPlain(entry, writeArray, state);
    return out;
  }
  const out: Record<string, unknown> = {};
  for (const key of Object.keys(value)) out[key] = toPlain((value as Record<string, unknown>)[key], writeArray, state);
  return out;
}

/**
 * True when JSON.stringify writes the value as toPlain would: nothing inside is a bigint, an
 * NdArray, bytes, a Map or another object that is not plain. Most results are such values;
 * checking them is cheaper than copying them (toPlain was the largest per-item cost in the
 * controller's profile). Answering false is always safe, only slower: the converting path then
 * writes the same text.
 */
// Stryker disable next-line BlockStatement: an empty body answers undefined, read as false: every line takes the converting path, which writes the same text
function isPlainJson(value: unknown): boolean {
  // Strings, numbers, booleans, null, undefined (and symbols or functions, which both paths leave out alike).
  if (typeof value !== 'object' || value === null) return typeof value !== 'bigint';
  if (Array.isArray(value)) return value.every(isPlainJson);
  // Stryker disable next-line EqualityOperator: with === a plain object answers false, and every record is one, so every line takes the converting path: the same text, slower
  if (Object.getPrototypeOf(value) !== Object.prototype) return false; // NdArray, Uint8Array, Map, Date...
  for (const key in value) if (!isPlainJson((value as Record<string, unknown>)[key])) return false;
  // Stryker disable next-line BooleanLiteral: false sends every plain object to the converting path, which writes the same text
  return true;
}

export function toJsonLine(record: Record<string, unknown>, writeArray: ArrayWriter): string {
  if (isPlainJson(record)) return JSON.stringify(record);
  // Stryker disable next-line ObjectLiteral,BooleanLiteral: the flag only spares lines without bigints the search for marks, which finds none (the marks hold a per-process nonce)
  const state = { bigint: false };
  const text = JSON.stringify(toPlain(record, writeArray, state));
  return state.bigint ? text.replace(BIGINT_PATTERN, '$1') : text;
}
