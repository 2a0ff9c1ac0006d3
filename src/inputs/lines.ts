/**
 * A byte stream's lines as they arrive: one chunk of lines per chunk read, so a file or a pipe
 * is read as the run consumes it and never held whole. Lines end with \n or \r\n; the last line
 * needs no newline.
 */
import { createReadStream } from 'node:fs';
import { StringDecoder } from 'node:string_decoder';

/** Bytes read from a file at a time: large enough that a chunk is worth an event-loop turn. */
export const READ_CHUNK_BYTES = 256 * 1024;

export interface LineChunk {
  /** The number of the chunk's first line, counting from 1. */
  firstLine: number;
  lines: string[];
}

function stripCarriageReturns(lines: string[]): void {
  for (let i = 0; i < lines.length; i += 1) {
    const line = lines[i] as string;
    if (line.endsWith('\r')) lines[i] = line.slice(0, -1);
  }
}

export async function* lineChunks(stream: AsyncIterable<Buffer | string>): AsyncGenerator<LineChunk> {
  const decoder = new StringDecoder('utf8'); // a character split between two reads is joined
  let carry = '';
  let next = 1;
  let first = true;
  for await (const chunk of stream) {
    let text = typeof chunk === 'string' ? chunk : decoder.write(chunk);
    // Text as an editor may save it: a UTF-8 byte order mark at the start is not part of line 1.
    if (first && text.length > 0) {
      if (text.startsWith('\uFEFF')) text = text.slice(1);
      first = false;
    }
    const lines = (carry + text).split('\n');
    carry = lines.pop() as string; // the line not yet ended
    if (lines.length === 0) continue;
    stripCarriageReturns(lines);
    yield { firstLine: next, lines };
    next += lines.length;
  }
  const last = carry + decoder.end();
  if (last.length > 0) {
    const lines = [last];
    stripCarriageReturns(lines);
    yield { firstLine: next, lines };
  }
}

export function fileLineChunks(file: string): AsyncGenerator<LineChunk> {
  return lineChunks(createReadStream(file, { highWaterMark: READ_CHUNK_BYTES }));
}
