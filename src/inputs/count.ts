/**
 * The cheap count pass: how many items a JSONL or list file holds, from its bytes alone (lines
 * that are not blank and, in a list, not a # comment), without parsing a line: the total for the
 * progress row and the ETA, known before the first item runs. Reading a file of 10 million lines
 * this way takes a fraction of a second; parsing it would take seconds.
 */
import { open } from 'node:fs/promises';

const BUFFER_BYTES = 1 << 20;
const NEWLINE = 0x0a;
const HASH = 0x23;

/** Space, tab, carriage return, vertical tab, form feed: what leaves a line blank. */
function isBlank(byte: number): boolean {
  return byte === 0x20 || byte === 0x09 || byte === 0x0d || byte === 0x0b || byte === 0x0c;
}

export async function countItemLines(file: string, options: { comments: boolean }): Promise<number> {
  const handle = await open(file, 'r');
  const buffer = Buffer.allocUnsafe(BUFFER_BYTES);
  let count = 0;
  /** Whether the line being read has been counted or skipped already (its first visible byte was seen). */
  let decided = false;
  try {
    for (;;) {
      const { bytesRead } = await handle.read(buffer, 0, BUFFER_BYTES, null);
      if (bytesRead === 0) break;
      const view = buffer.subarray(0, bytesRead);
      let at = 0;
      while (at < bytesRead) {
        if (!decided) {
          const byte = view[at] as number;
          if (byte === NEWLINE || isBlank(byte)) {
            at += 1;
            continue;
          }
          decided = true;
          if (!(options.comments && byte === HASH)) count += 1;
        }
        const newline = view.indexOf(NEWLINE, at);
        if (newline < 0) break; // the line goes on in the next read
        at = newline + 1;
        decided = false;
      }
    }
  } finally {
    await handle.close();
  }
  return count;
}
