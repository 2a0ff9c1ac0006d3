/**
 * What the journal tests share: temporary folders that are removed after each test (also when it
 * fails), the README's recipe for loading an array (np.fromfile with dtype, count and offset),
 * and a look at which files this process still holds open.
 */
import { existsSync, mkdtempSync, readdirSync, readFileSync, readlinkSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, expect } from 'vitest';
import { NdArray, type Dtype } from '../../src/transport/codec.js';
import type { OutputRecord } from '../../src/journal/journal.js';

/** Returns a maker of temporary folders; every folder it made is removed after each test. */
export function temporaryFolders(prefix: string): () => string {
  const made: string[] = [];
  afterEach(() => {
    for (const dir of made.splice(0)) rmSync(dir, { recursive: true, force: true });
  });
  return () => {
    const dir = mkdtempSync(path.join(tmpdir(), prefix));
    made.push(dir);
    return dir;
  };
}

export const ITEM_SIZE: Record<Dtype, number> = {
  bool: 1, int8: 1, uint8: 1, int16: 2, uint16: 2, float16: 2, bfloat16: 2,
  int32: 4, uint32: 4, float32: 4, int64: 8, uint64: 8, float64: 8, complex64: 8, complex128: 16,
};

export interface ArrayRefJson {
  dtype: Dtype;
  shape: number[];
  file: string;
  offset: number;
}

/**
 * The README's loader, `np.fromfile(ref["file"], dtype=ref["dtype"], count=prod(shape),
 * offset=ref["offset"])`, as bytes: `file` is taken beside the output, and np.fromfile returns
 * fewer items when the file ends early, so the bytes can come back short.
 */
export function loadArrayBytes(outputDir: string, ref: ArrayRefJson): Buffer {
  const count = ref.shape.reduce((a, b) => a * b, 1);
  const blob = readFileSync(path.join(outputDir, ref.file));
  return blob.subarray(ref.offset, ref.offset + count * ITEM_SIZE[ref.dtype]);
}

/** The JSON lines of an output file, parsed. */
export function readLines(output: string): Array<Record<string, any>> {
  const text = readFileSync(output, 'utf8');
  expect(text.endsWith('\n')).toBe(true); // whole lines only
  return text.slice(0, -1).split('\n').map((line) => JSON.parse(line));
}

export function float32(values: number[], shape: number[] = [values.length]): NdArray {
  return new NdArray('float32', shape, new Uint8Array(new Float32Array(values).buffer));
}

/** An array whose bytes are 1, 2, 3, ... so that any misplaced byte shows. */
export function counting(dtype: Dtype, shape: number[]): NdArray {
  const size = shape.reduce((a, b) => a * b, 1) * ITEM_SIZE[dtype];
  return new NdArray(dtype, shape, Uint8Array.from({ length: size }, (_, i) => (i % 255) + 1));
}

export function record(id: string, result: unknown, index = 0): OutputRecord {
  return { id, index, ok: true, input: `${id}.png`, result, device: 'cpu:0', replica: 0, attempts: 1, duration: 0.25 };
}

/** Files of this process's open descriptors that are `file` (Linux: /proc/self/fd). */
export function openDescriptorsOf(file: string): string[] {
  const target = path.resolve(file);
  const open: string[] = [];
  for (const fd of readdirSync('/proc/self/fd')) {
    try {
      if (readlinkSync(`/proc/self/fd/${fd}`) === target) open.push(fd);
    } catch {
      // the descriptor readdir itself used, closed by now
    }
  }
  return open;
}

export const canListDescriptors = existsSync('/proc/self/fd');

/** Resolves after the event loop's current turn (and the journal's flush queued in it). */
export function nextTurn(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}
