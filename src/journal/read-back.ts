/**
 * Reading an output file back, for --resume: the output is the run's journal.
 *
 * A run stopped mid-write (power loss, SIGKILL) can leave a torn last line: it is cut off, and
 * its item runs again. With --retry-failed the failed lines are taken out (the file is rewritten
 * and renamed into place), so that each item still appears exactly once.
 */
import { createReadStream, openSync, readSync, closeSync, fstatSync, ftruncateSync, renameSync, createWriteStream } from 'node:fs';
import { createInterface } from 'node:readline';
import { once } from 'node:events';

export interface JournalContents {
  /** id -> whether its recorded line is ok */
  recorded: Map<string, boolean>;
  /** Bytes of a torn last line that were cut off (0 when the file ended cleanly). */
  tornBytes: number;
  /** Lines that were not JSON with an id (skipped; their items run again). */
  unreadable: number;
  /** Failed lines taken out for --retry-failed. */
  removedFailed: number;
}

/** cutTornTail looks for the last newline backwards, this many bytes at a time. */
const CHUNK_BYTES = 1 << 20;

/** Cut a torn last line off the file; returns how many bytes were cut. */
export function cutTornTail(path: string): number {
  const fd = openSync(path, 'r+');
  try {
    const size = fstatSync(fd).size;
    const keep = endOfLastLine(fd, size);
    if (keep < size) ftruncateSync(fd, keep); // a file that ends cleanly is left untouched, its modification time too
    return size - keep;
  } finally {
    closeSync(fd);
  }
}

/** Where the file's last whole line ends: just past its last newline, or 0 when it has none. */
function endOfLastLine(fd: number, size: number): number {
  const chunk = Buffer.allocUnsafe(CHUNK_BYTES);
  for (let end = size; end > 0; ) {
    const start = Math.max(0, end - CHUNK_BYTES);
    const read = readSync(fd, chunk, 0, end - start, start);
    const newline = chunk.subarray(0, read).lastIndexOf(0x0a);
    if (newline >= 0) return start + newline + 1;
    end = start;
  }
  return 0;
}

export async function readJournal(path: string, options: { dropFailed: boolean }): Promise<JournalContents> {
  const tornBytes = cutTornTail(path);
  const recorded = new Map<string, boolean>();
  let unreadable = 0;
  let removedFailed = 0;
  const rewritePath = `${path}.rewrite-${process.pid}`;
  const rewrite = options.dropFailed ? createWriteStream(rewritePath) : undefined;
  const lines = createInterface({ input: createReadStream(path), crlfDelay: Infinity });
  for await (const line of lines) {
    if (line.trim().length === 0) continue;
    let record: { id?: unknown; ok?: unknown };
    try {
      record = JSON.parse(line) as { id?: unknown; ok?: unknown };
    } catch {
      unreadable += 1;
      continue;
    }
    if (typeof record.id !== 'string') {
      unreadable += 1;
      continue;
    }
    const ok = record.ok === true;
    if (!ok && options.dropFailed) {
      removedFailed += 1;
      continue;
    }
    recorded.set(record.id, ok);
    if (rewrite && !rewrite.write(`${line}\n`)) await once(rewrite, 'drain');
  }
  if (rewrite) {
    rewrite.end();
    await once(rewrite, 'finish');
    renameSync(rewritePath, path);
  }
  return { recorded, tornBytes, unreadable, removedFailed };
}
