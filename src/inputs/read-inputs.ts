/**
 * --inputs -> the run's items. An item is {id, input}: the id names it in the output (and for
 * resume), the input is what the script's infer() receives.
 *
 *   -                 standard input: JSONL when the first line is a JSON object, else one path a line
 *   file.jsonl        one JSON value a line; the id is the object's "id" field, else the line number
 *   a directory       every file under it, recursively, sorted (hidden files skipped)
 *   any other file    a list of paths, one a line (blank lines and # comments skipped)
 *   anything else     a glob such as 'images/**\/*.png', sorted
 */
import { constants } from 'node:fs';
import { access, readFile, stat } from 'node:fs/promises';
import { glob } from 'tinyglobby';
import { UsageError } from '../errors.js';
import { describeFsError } from '../util/fs-errors.js';

export interface Item {
  id: string;
  input: unknown;
}

export interface InputSource {
  items: Item[];
  /** How the inputs were read, for --dry-run and the start-up line. */
  description: string;
}

async function readStream(stream: NodeJS.ReadableStream): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(typeof chunk === 'string' ? Buffer.from(chunk) : (chunk as Buffer));
  return Buffer.concat(chunks).toString('utf8');
}

function pathItems(paths: string[]): Item[] {
  return paths.map((p) => ({ id: p, input: p }));
}

function listLines(text: string): string[] {
  return text
    .split(/\r?\n/)
    .map((line) => line.trim())
    .filter((line) => line.length > 0 && !line.startsWith('#'));
}

export function parseJsonl(text: string, source: string): Item[] {
  const items: Item[] = [];
  const lines = text.split(/\r?\n/);
  lines.forEach((line, position) => {
    if (line.trim().length === 0) return;
    const lineNumber = position + 1;
    let value: unknown;
    try {
      value = JSON.parse(line);
    } catch (error) {
      throw new UsageError(`${source}, line ${lineNumber}: not valid JSON (${(error as Error).message}); each line must be one JSON value`);
    }
    const ownId = value !== null && typeof value === 'object' && !Array.isArray(value) ? (value as Record<string, unknown>).id : undefined;
    if (ownId !== undefined && typeof ownId !== 'string' && typeof ownId !== 'number') {
      throw new UsageError(`${source}, line ${lineNumber}: "id" must be a string or a number, got ${JSON.stringify(ownId)}`);
    }
    // JSON.parse rounds integers past 2^53: two such ids could become one, or not the id written.
    if (typeof ownId === 'number' && Number.isInteger(ownId) && !Number.isSafeInteger(ownId)) {
      throw new UsageError(`${source}, line ${lineNumber}: its "id" is a number past 2^53, which cannot be read exactly (it reads as ${ownId}); write the id as a string, in quotes`);
    }
    items.push({ id: ownId === undefined ? String(lineNumber) : String(ownId), input: value });
  });
  return items;
}

function rejectDuplicateIds(items: Item[], source: string): void {
  const seen = new Set<string>();
  for (const item of items) {
    if (seen.has(item.id)) {
      throw new UsageError(`${source}: the id ${JSON.stringify(item.id)} appears more than once; every item needs its own id so the output can name it`);
    }
    seen.add(item.id);
  }
}

export async function readInputs(spec: string, stdin: NodeJS.ReadableStream = process.stdin): Promise<InputSource> {
  const result = await readSource(spec, stdin);
  rejectDuplicateIds(result.items, result.description);
  return result;
}

/** Text as an editor may save it: a UTF-8 byte order mark at the start is not part of the first line. */
function withoutBom(text: string): string {
  return text.startsWith('\uFEFF') ? text.slice(1) : text;
}

function unreadable(spec: string, error: unknown): UsageError {
  return new UsageError(`--inputs ${spec}: cannot be read (${describeFsError(error)}); make it readable for this user, or give a copy you can read`);
}

async function readSource(spec: string, stdin: NodeJS.ReadableStream): Promise<InputSource> {
  if (spec === '-') {
    const text = withoutBom(await readStream(stdin));
    const first = text.split(/\r?\n/).find((line) => line.trim().length > 0)?.trim() ?? '';
    return first.startsWith('{')
      ? { items: parseJsonl(text, 'standard input'), description: 'JSONL from standard input' }
      : { items: pathItems(listLines(text)), description: 'paths from standard input' };
  }

  const info = await stat(spec).catch(() => undefined);
  if (info?.isDirectory()) {
    // An unreadable folder would be walked as an empty one: a run of zero items that says nothing.
    await access(spec, constants.R_OK | constants.X_OK).catch((error: unknown) => {
      throw unreadable(spec, error);
    });
    const files = await glob('**/*', { cwd: spec, onlyFiles: true, dot: false, absolute: false });
    const joined = files.sort().map((file) => `${spec.replace(/\/+$/, '')}/${file}`);
    return { items: pathItems(joined), description: `files under ${spec}` };
  }
  if (info?.isFile()) {
    const text = withoutBom(await readFile(spec, 'utf8').catch((error: unknown) => {
      throw unreadable(spec, error);
    }));
    if (spec.toLowerCase().endsWith('.jsonl')) return { items: parseJsonl(text, spec), description: `JSONL file ${spec}` };
    return { items: pathItems(listLines(text)), description: `list of paths in ${spec}` };
  }

  const matches = (await glob(spec, { onlyFiles: true, dot: false, expandDirectories: false })).sort();
  if (matches.length === 0) {
    throw new UsageError(
      `--inputs ${spec}: no such file or folder, and as a glob it matched no files. Quote globs ('images/**/*.png') so the shell leaves them to gpu-orchestrate.`,
    );
  }
  return { items: pathItems(matches), description: `glob ${spec}` };
}
