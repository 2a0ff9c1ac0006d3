/**
 * An output file read for `compare`: its lines by id, parsed losslessly (an integer beyond 2^53
 * keeps every digit). A file that cannot be read, a line that is not JSON with a string id, or an
 * id twice is bad input: compare says where and exits 2.
 */
import { createReadStream } from 'node:fs';
import { createInterface } from 'node:readline';
import { parse } from 'lossless-json';
import { UsageError } from '../errors.js';
import type { Json } from './values.js';

export interface OutputLines {
  /** id -> the line's fields, in the file's order. */
  lines: Map<string, { [key: string]: Json }>;
}

export async function readLines(file: string, role: 'OUTPUT' | 'REFERENCE'): Promise<OutputLines> {
  const lines = new Map<string, { [key: string]: Json }>();
  try {
    await readInto(lines, file, role);
  } catch (error) {
    if (error instanceof UsageError) throw error;
    throw new UsageError(`${role} ${file} cannot be read (${(error as NodeJS.ErrnoException).code ?? String(error)}); check the path and that it is a file gpu-orchestrate wrote`);
  }
  return { lines };
}

async function readInto(lines: Map<string, { [key: string]: Json }>, file: string, role: string): Promise<void> {
  let number = 0;
  const reader = createInterface({ input: createReadStream(file, 'utf8'), crlfDelay: Infinity });
  for await (const text of reader) {
    number += 1;
    if (text.trim() === '') continue;
    let line: unknown;
    try {
      line = parse(text);
    } catch (error) {
      throw new UsageError(`${role} ${file}, line ${number}: not JSON (${(error as Error).message}). A run stopped mid-write leaves a torn last line: run it with --resume to complete it first`);
    }
    const id = (line as { id?: unknown } | null)?.id;
    if (typeof line !== 'object' || line === null || Array.isArray(line) || typeof id !== 'string') {
      throw new UsageError(`${role} ${file}, line ${number}: not an output line (a JSON object with a string "id"); compare reads files gpu-orchestrate wrote`);
    }
    if (lines.has(id)) throw new UsageError(`${role} ${file}, line ${number}: item ${JSON.stringify(id)} appears twice; an output holds each item once`);
    lines.set(id, line as { [key: string]: Json });
  }
}
