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
import { arraysPathFor } from './paths.js';

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

export { arraysPathFor };

/** What stopped the journal: the file and the error (ENOSPC, EIO, EFBIG...). Nothing is written after it. */
export interface OutputFailure {
  file: string;
  error: NodeJS.ErrnoException;
}

/**
 * Writes every byte of `chunks`: a write to a file system that fills up can land part of its
 * bytes and return, and only the next one fails. `done.bytes` (given as 0) says how far it got.
 */
function writeAll(fd: number, chunks: Uint8Array[], done: { bytes: number }): void {
  const total = chunks.reduce((sum, chunk) => sum + chunk.byteLength, 0);
  // The common case in one system call; what a short write left, chunk by chunk.
  done.bytes += chunks.length === 1 ? writeSync(fd, chunks[0] as Uint8Array) : writevSync(fd, chunks);
  let skip = done.bytes;
  for (const chunk of chunks) {
    let at = Math.min(skip, chunk.byteLength);
    skip -= at;
    while (at < chunk.byteLength) {
      const wrote = writeSync(fd, chunk, at, chunk.byteLength - at);
      if (wrote <= 0) throw Object.assign(new Error(`a write of ${total - done.bytes} bytes wrote nothing`), { code: 'EIO' });
      at += wrote;
      done.bytes += wrote;
    }
  }
}

function countLines(bytes: Uint8Array): number {
  let count = 0;
  for (let index = bytes.indexOf(10); index >= 0; index = bytes.indexOf(10, index + 1)) count += 1;
  return count;
}

/**
 * A write error (a full disk, a quota, a file size limit, an I/O error) never throws out of the
 * journal: it is recorded once as `failure`, the listener is told, and nothing more is written,
 * so what is in the file stays whole lines (a line torn by the failed write is cut by --resume).
 */
export class Journal {
  private readonly fd: number;
  private arraysFd: number | undefined;
  private arraysSize = 0;
  private lastSync = Date.now();
  /** Lines appended but not yet written (see append), and how many. */
  private pending = '';
  private pendingLines = 0;
  /** The write at the end of this turn, once a batch was appended in it. */
  private scheduled: NodeJS.Immediate | undefined;
  private listener: ((failure: OutputFailure) => void) | undefined;
  readonly arraysPath: string;
  /** Whole lines written by this journal: its items safely in the file. */
  linesWritten = 0;
  failure: OutputFailure | undefined;

  /** `append`: continue an existing output (--resume); `create`: start it afresh, emptied. */
  constructor(
    readonly outputPath: string,
    private readonly mode: 'create' | 'append',
  ) {
    this.fd = openSync(outputPath, mode === 'append' ? 'a' : 'w');
    this.arraysPath = arraysPathFor(outputPath);
  }

  /** Calls `listener` once when a write fails (at once if one has failed already). */
  onFailure(listener: (failure: OutputFailure) => void): void {
    this.listener = listener;
    if (this.failure) listener(this.failure);
  }

  private fail(file: string, error: unknown): void {
    if (this.failure) return;
    this.failure = { file, error: error as NodeJS.ErrnoException };
    // The lines appended before an array that could not be written have all their arrays in:
    // write them if the output still takes them (a second error is not the news).
    if (file === this.arraysPath) this.writePending();
    this.pending = '';
    this.pendingLines = 0;
    this.listener?.(this.failure);
  }

  private writeArray = (array: NdArray): ArrayRef => {
    const ref = { dtype: array.dtype, shape: array.shape, file: path.basename(this.arraysPath), offset: 0 };
    if (this.failure) return ref; // its line is dropped with it
    try {
      if (this.arraysFd === undefined) {
        this.arraysFd = openSync(this.arraysPath, this.mode === 'append' ? 'a' : 'w');
        this.arraysSize = fstatSync(this.arraysFd).size;
      }
      const padding = (ARRAY_ALIGNMENT - (this.arraysSize % ARRAY_ALIGNMENT)) % ARRAY_ALIGNMENT;
      ref.offset = this.arraysSize + padding;
      // The zeros up to the aligned offset (none when it is aligned already) and the bytes, in one write.
      writeAll(this.arraysFd, [Buffer.alloc(padding), array.data], { bytes: 0 });
      this.arraysSize = ref.offset + array.data.byteLength;
    } catch (error) {
      this.fail(this.arraysPath, error);
    }
    return ref;
  };

  /**
   * Append a batch's lines. They reach the file in one write at the end of the event loop's
   * current turn, together with the lines of every other batch that arrived in the same turn: a
   * write per batch cost a system call per batch, the largest per-batch cost at batch size 1.
   * Whole lines only, so a batch is still either wholly in the file or torn at its end.
   */
  append(records: OutputRecord[]): void {
    if (this.failure) return;
    let text = '';
    for (const record of records) text += `${toJsonLine(record as unknown as Record<string, unknown>, this.writeArray)}\n`;
    if (this.failure) return; // an array of this batch could not be written: none of its lines is
    this.pending += text;
    this.pendingLines += records.length;
    this.scheduled ??= setImmediate(this.flush);
  }

  /** Write the lines appended so far; close() calls it, so nothing appended is left behind. */
  readonly flush = (): void => {
    this.scheduled = undefined;
    if (this.pending.length === 0 || this.failure) return;
    const error = this.writePending();
    if (error !== undefined) this.fail(this.outputPath, error);
    else if (Date.now() - this.lastSync >= SYNC_INTERVAL_MS) this.sync();
  };

  /** Writes the pending lines and counts those written whole; returns the error that stopped it. */
  private writePending(): unknown {
    if (this.pending.length === 0) return undefined;
    const data = Buffer.from(this.pending);
    const lines = this.pendingLines;
    this.pending = '';
    this.pendingLines = 0;
    const done = { bytes: 0 };
    try {
      writeAll(this.fd, [data], done);
    } catch (error) {
      this.linesWritten += countLines(data.subarray(0, done.bytes));
      return error;
    }
    this.linesWritten += lines;
    return undefined;
  }

  private sync(): void {
    // Arrays first: a line on disk must never point at array bytes that are not.
    const files: [number | undefined, string][] = [[this.arraysFd, this.arraysPath], [this.fd, this.outputPath]];
    for (const [fd, file] of files) {
      if (fd === undefined || this.failure) continue;
      try {
        fdatasyncSync(fd);
      } catch (error) {
        this.fail(file, error);
      }
    }
    this.lastSync = Date.now();
  }

  /** Writes and syncs what is left, then closes both files; a failure is recorded, never thrown. */
  close(): void {
    this.flush();
    this.sync();
    for (const [fd, file] of [[this.fd, this.outputPath], [this.arraysFd, this.arraysPath]] as const) {
      if (fd === undefined) continue;
      try {
        closeSync(fd); // on a network file system, a write error can first show here
      } catch (error) {
        this.fail(file, error);
      }
    }
  }
}
