/**
 * The output file: one JSON line per item, appended batch by batch, and the arrays file beside
 * it (results.jsonl -> results.arrays) that holds array bytes at 64-byte aligned offsets so that
 * numpy can memory-map them.
 */
import { closeSync, openSync, writeSync } from 'node:fs';
import path from 'node:path';
import type { NdArray } from '../transport/codec.js';
import type { ErrorInfo } from '../transport/messages.js';
import { toJsonLine, type ArrayRef } from './json-value.js';

const ARRAY_ALIGNMENT = 64;

export interface OutputRecord {
  id: string;
  input: unknown;
  ok: boolean;
  result?: unknown;
  error?: ErrorInfo;
  device: string;
  replica: number;
  attempts: number;
  duration: number;
}

export function arraysPathFor(output: string): string {
  const parsed = path.parse(output);
  return path.join(parsed.dir, `${parsed.ext === '.jsonl' ? parsed.name : parsed.base}.arrays`);
}

export class Journal {
  private readonly fd: number;
  private arraysFd: number | undefined;
  private arraysSize = 0;
  readonly arraysPath: string;

  constructor(readonly outputPath: string) {
    this.fd = openSync(outputPath, 'w');
    this.arraysPath = arraysPathFor(outputPath);
  }

  private writeArray = (array: NdArray): ArrayRef => {
    if (this.arraysFd === undefined) this.arraysFd = openSync(this.arraysPath, 'w');
    const padding = (ARRAY_ALIGNMENT - (this.arraysSize % ARRAY_ALIGNMENT)) % ARRAY_ALIGNMENT;
    if (padding > 0) {
      writeSync(this.arraysFd, Buffer.alloc(padding));
      this.arraysSize += padding;
    }
    const offset = this.arraysSize;
    writeSync(this.arraysFd, array.data);
    this.arraysSize += array.data.byteLength;
    return { dtype: array.dtype, shape: array.shape, file: path.basename(this.arraysPath), offset };
  };

  /** Append a batch's lines in one write: a batch is either wholly in the file or torn at its end. */
  append(records: OutputRecord[]): void {
    if (records.length === 0) return;
    let text = '';
    for (const record of records) text += `${toJsonLine(record as unknown as Record<string, unknown>, this.writeArray)}\n`;
    writeSync(this.fd, text);
  }

  close(): void {
    closeSync(this.fd);
    if (this.arraysFd !== undefined) closeSync(this.arraysFd);
  }
}
