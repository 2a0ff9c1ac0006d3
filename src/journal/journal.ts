/**
 * The output file: one JSON line per item, appended batch by batch, and the arrays file beside
 * it (results.jsonl -> results.arrays) that holds array bytes at 64-byte aligned offsets so that
 * numpy can memory-map them.
 */
import { closeSync, fdatasyncSync, fstatSync, openSync, writeSync, writevSync } from 'node:fs';
import path from 'node:path';
import type { NdArray } from '../transport/codec.js';
import type { ErrorInfo } from '../transport/messages.js';
import { toJsonLine, type ArrayRef } from './json-value.js';

const ARRAY_ALIGNMENT = 64;

/**
 * Durability: every batch's lines are written as they arrive (within the event loop's turn), so a
 * crash of gpu-orchestrate itself loses nothing that was written (it is in the OS's page cache). Only a
 * crash of the machine can lose what was not yet synced to disk, so the files are fsynced at
 * most every SYNC_INTERVAL_MS and at the end, instead of after every batch, which would cap the
 * run at the disk's sync rate. The cost: a power loss can lose the last few seconds of results;
 * --resume runs those items again.
 */
export const SYNC_INTERVAL_MS = 5_000;

/**
 * One line. Its first fields are always id, index and ok, in that order: read-back.ts reads them
 * from the bytes of a line without parsing it.
 */
export interface OutputRecord {
  id: string;
  /** The item's ordinal: its position in the inputs, from 0 (what --resume checks an id against). */
  index: number;
  ok: boolean;
  input: unknown;
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
  private lastSync = Date.now();
  /** Lines appended but not yet written (see append). */
  private pending = '';
  /** The write at the end of this turn, once a batch was appended in it. */
  private scheduled: NodeJS.Immediate | undefined;
  readonly arraysPath: string;

  /** `append`: continue an existing output (--resume); `create`: start it afresh, emptied. */
  constructor(
    readonly outputPath: string,
    private readonly mode: 'create' | 'append',
  ) {
    this.fd = openSync(outputPath, mode === 'append' ? 'a' : 'w');
    this.arraysPath = arraysPathFor(outputPath);
  }

  private writeArray = (array: NdArray): ArrayRef => {
    if (this.arraysFd === undefined) {
      this.arraysFd = openSync(this.arraysPath, this.mode === 'append' ? 'a' : 'w');
      this.arraysSize = fstatSync(this.arraysFd).size;
    }
    const padding = (ARRAY_ALIGNMENT - (this.arraysSize % ARRAY_ALIGNMENT)) % ARRAY_ALIGNMENT;
    const offset = this.arraysSize + padding;
    // The zeros up to the aligned offset (none when it is aligned already) and the bytes, in one write.
    writevSync(this.arraysFd, [Buffer.alloc(padding), array.data]);
    this.arraysSize = offset + array.data.byteLength;
    return { dtype: array.dtype, shape: array.shape, file: path.basename(this.arraysPath), offset };
  };

  /**
   * Append a batch's lines. They reach the file in one write at the end of the event loop's
   * current turn, together with the lines of every other batch that arrived in the same turn: a
   * write per batch cost a system call per batch, the largest per-batch cost at batch size 1.
   * Whole lines only, so a batch is still either wholly in the file or torn at its end.
   */
  append(records: OutputRecord[]): void {
    for (const record of records) this.pending += `${toJsonLine(record as unknown as Record<string, unknown>, this.writeArray)}\n`;
    this.scheduled ??= setImmediate(this.flush);
  }

  /** Write the lines appended so far; close() calls it, so nothing appended is left behind. */
  readonly flush = (): void => {
    this.scheduled = undefined;
    if (this.pending.length === 0) return;
    const text = this.pending;
    this.pending = '';
    writeSync(this.fd, text);
    if (Date.now() - this.lastSync >= SYNC_INTERVAL_MS) this.sync();
  };

  private sync(): void {
    // Arrays first: a line on disk must never point at array bytes that are not.
    if (this.arraysFd !== undefined) fdatasyncSync(this.arraysFd);
    fdatasyncSync(this.fd);
    this.lastSync = Date.now();
  }

  close(): void {
    this.flush();
    this.sync();
    closeSync(this.fd);
    if (this.arraysFd !== undefined) closeSync(this.arraysFd);
  }
}
