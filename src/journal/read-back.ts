/**
 * Reading an output file back, for --resume: the output is the run's journal.
 *
 * A run stopped mid-write (power loss, SIGKILL) can leave a torn last line: it is cut off, and
 * its item runs again. With --retry-failed the failed lines are taken out (the file is rewritten
 * and renamed into place), so that each item still appears exactly once.
 *
 * Fast: a line as gpu-orchestrate writes it starts {"id":"...","index":N,"ok":true, so those
 * fields are read from the bytes without parsing the line (10 million lines in a few seconds);
 * any other line (written before lines carried "index", or by hand) is parsed whole.
 */
import { closeSync, fstatSync, ftruncateSync, openSync, readSync, renameSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { RecordedItems } from './recorded.js';

export interface JournalContents {
  /** Which items the output holds a line for (kept failed lines included). */
  recorded: RecordedItems;
  /** Lines kept, ok and failed. */
  ok: number;
  failed: number;
  /** Bytes of a torn last line that were cut off (0 when the file ended cleanly). */
  tornBytes: number;
  /** Lines that were not JSON with an id (skipped; their items run again). */
  unreadable: number;
  /** Failed lines taken out for --retry-failed. */
  removedFailed: number;
}

/** cutTornTail looks for the last newline backwards, this many bytes at a time. */
const CHUNK_BYTES = 1 << 20;
/** The journal is read forwards this many bytes at a time. */
const READ_BYTES = 4 << 20;

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

export interface JournalLine {
  id: string;
  /** The item's ordinal; undefined on a line written before lines carried one. */
  ordinal: number | undefined;
  ok: boolean;
}

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const HEAD = Buffer.from('{"id":"');
const INDEX = Buffer.from(',"index":');
const OK = Buffer.from(',"ok":');

function bytesAt(buffer: Buffer, at: number, end: number, expected: Buffer): boolean {
  if (at + expected.length > end) return false;
  for (let i = 0; i < expected.length; i += 1) if (buffer[at + i] !== expected[i]) return false;
  return true;
}

/** The fields of a line as gpu-orchestrate writes it, from its bytes; undefined when the line is not in that form. */
function readOwnLine(buffer: Buffer, start: number, end: number): JournalLine | undefined {
  if (!bytesAt(buffer, start, end, HEAD)) return undefined;
  let at = start + HEAD.length;
  while (at < end && buffer[at] !== QUOTE) {
    if (buffer[at] === BACKSLASH) return undefined; // an escaped id: parse it properly
    at += 1;
  }
  const id = buffer.toString('utf8', start + HEAD.length, at);
  at += 1;
  if (!bytesAt(buffer, at, end, INDEX)) return undefined;
  at += INDEX.length;
  let ordinal = 0;
  const digits = at;
  for (; at < end && (buffer[at] as number) >= 0x30 && (buffer[at] as number) <= 0x39; at += 1) ordinal = ordinal * 10 + ((buffer[at] as number) - 0x30);
  if (at === digits || at - digits > 15 || !bytesAt(buffer, at, end, OK)) return undefined;
  at += OK.length;
  return { id, ordinal, ok: buffer[at] === 0x74 /* t */ };
}

/** Any other line: parsed whole. null for a blank line; undefined for one that is not JSON with an id. */
function parseLine(text: string): JournalLine | null | undefined {
  if (text.trim().length === 0) return null;
  let record: { id?: unknown; index?: unknown; ok?: unknown };
  try {
    record = JSON.parse(text) as typeof record;
  } catch {
    return undefined;
  }
  if (record === null || typeof record !== 'object' || typeof record.id !== 'string') return undefined;
  const ordinal = Number.isSafeInteger(record.index) && (record.index as number) >= 0 ? (record.index as number) : undefined;
  return { id: record.id, ordinal, ok: record.ok === true };
}

/**
 * Every line of the file, in order: `visit` gets its fields (null: blank; undefined: unreadable)
 * and where its bytes lie, without the newline (`buffer` is fresh for each read, so a view of it
 * stays valid).
 */
export async function scanJournal(
  path: string,
  visit: (line: JournalLine | null | undefined, buffer: Buffer, start: number, end: number) => void,
  after?: () => Promise<void>,
): Promise<void> {
  const handle = await open(path, 'r');
  let carry: Buffer | undefined;
  try {
    for (;;) {
      const fresh = Buffer.allocUnsafe(READ_BYTES);
      const { bytesRead } = await handle.read(fresh, 0, READ_BYTES, null);
      if (bytesRead === 0) break;
      const buffer = carry ? Buffer.concat([carry, fresh.subarray(0, bytesRead)]) : fresh.subarray(0, bytesRead);
      let start = 0;
      for (let newline = buffer.indexOf(0x0a); newline >= 0; newline = buffer.indexOf(0x0a, start)) {
        const end = newline > start && buffer[newline - 1] === 0x0d ? newline - 1 : newline;
        visit(readOwnLine(buffer, start, end) ?? parseLine(buffer.toString('utf8', start, end)), buffer, start, end);
        start = newline + 1;
      }
      carry = start < buffer.length ? Buffer.from(buffer.subarray(start)) : undefined;
      await after?.();
    }
  } finally {
    await handle.close();
  }
  // The torn tail was cut before, so the file ends with a newline; a last line without one is read all the same.
  if (carry && carry.length > 0) visit(readOwnLine(carry, 0, carry.length) ?? parseLine(carry.toString('utf8')), carry, 0, carry.length);
}

export async function readJournal(path: string, options: { dropFailed: boolean }): Promise<JournalContents> {
  const tornBytes = cutTornTail(path);
  const contents: JournalContents = { recorded: new RecordedItems(), ok: 0, failed: 0, tornBytes, unreadable: 0, removedFailed: 0 };
  const rewritePath = `${path}.rewrite-${process.pid}`;
  const rewrite = options.dropFailed ? await open(rewritePath, 'w') : undefined;
  let kept: Buffer[] = [];
  const newline = Buffer.from('\n');
  try {
    await scanJournal(
      path,
      (line, buffer, start, end) => {
        if (line === null) return;
        if (line === undefined) {
          contents.unreadable += 1;
          return;
        }
        if (!line.ok && options.dropFailed) {
          contents.removedFailed += 1;
          return;
        }
        if (line.ok) contents.ok += 1;
        else contents.failed += 1;
        contents.recorded.add(line.id, line.ordinal);
        if (rewrite) kept.push(buffer.subarray(start, end), newline); // a view: each read gets a fresh buffer, written before the next read
      },
      async () => {
        if (!rewrite || kept.length === 0) return;
        await rewrite.write(Buffer.concat(kept));
        kept = [];
      },
    );
    if (rewrite) {
      if (kept.length > 0) await rewrite.write(Buffer.concat(kept));
      await rewrite.close();
      renameSync(rewritePath, path);
    }
  } catch (error) {
    await rewrite?.close().catch(() => undefined);
    throw error;
  }
  return contents;
}

/** Every id the output holds a line for: a resume whose inputs are not where the output says needs them (resume.ts). */
export async function readJournalIds(path: string): Promise<Set<string>> {
  const ids = new Set<string>();
  await scanJournal(path, (line) => {
    if (line) ids.add(line.id);
  });
  return ids;
}
