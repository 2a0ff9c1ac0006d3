/**
 * --inputs -> the run's items, read as the run consumes them. An item is {id, input}: the id
 * names it in the output (and for resume), the input is what the script's infer() receives. Its
 * ordinal is its position in the inputs, counting from 0.
 *
 *   -                 standard input: JSONL when the first line is a JSON object, else one path a line
 *   file.jsonl        one JSON value a line; the id is the object's "id" field, else the line number
 *   a directory       every file under it, recursively, sorted (hidden files skipped)
 *   any other file    a list of paths, one a line (blank lines and # comments skipped)
 *   anything else     a glob such as 'images/**\/*.png', sorted
 *
 * Nothing holds every item: files and standard input are read a chunk at a time, folders and
 * globs walked lazily (walk.ts). A bad line or a repeated id is found when the reading reaches
 * it, so a run may have started by then.
 */
import { constants, createReadStream, type ReadStream } from 'node:fs';
import path from 'node:path';
import { access, stat } from 'node:fs/promises';
import { UsageError } from '../errors.js';
import { describeFsError } from '../util/fs-errors.js';
import { countItemLines } from './count.js';
import { globWalk } from './glob.js';
import { lineChunks, READ_CHUNK_BYTES, type LineChunk } from './lines.js';
import { UniqueIds } from './unique-ids.js';
import { walk } from './walk.js';

export interface Item {
  id: string;
  input: unknown;
}

export interface InputSource {
  /** How the inputs are read, for --dry-run and the start-up line. */
  description: string;
  /**
   * The items in input order, a chunk at a time as they are read. Each call reads them afresh;
   * standard input can be read once. Throws a UsageError at a bad line or a repeated id.
   */
  chunks(): AsyncGenerator<Item[]>;
  /** How many items there are, when a pass over a file's bytes tells; undefined for a walk (known once walked) and for standard input. */
  count(): Promise<number | undefined>;
  /** Whether there is any item (a walk or standard input is read up to its first item to tell). */
  hasItems(): Promise<boolean>;
  /** False for standard input. */
  rereadable: boolean;
  /** Stops any reading under way (a run that ends before its inputs do). */
  close(): void;
}

/** A JSONL line's item, and whether the id is the line's own "id" (else its number); undefined for a blank line. */
export function jsonlItem(line: string, lineNumber: number, source: string): (Item & { own: boolean }) | undefined {
  if (line.trim().length === 0) return undefined;
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
  return { id: ownId === undefined ? String(lineNumber) : String(ownId), input: value, own: ownId !== undefined };
}

function pathItem(line: string): Item | undefined {
  const path = line.trim();
  return path.length === 0 || path.startsWith('#') ? undefined : { id: path, input: path };
}

/** The items of a file's or a pipe's lines, every id checked to be unique (unique-ids.ts). */
async function* lineItems(lines: AsyncIterable<LineChunk>, jsonl: boolean, source: string): AsyncGenerator<Item[]> {
  const ids = new UniqueIds(source);
  for await (const { firstLine, lines: chunk } of lines) {
    const items: Item[] = [];
    for (let i = 0; i < chunk.length; i += 1) {
      if (jsonl) {
        const parsed = jsonlItem(chunk[i] as string, firstLine + i, source);
        if (!parsed) continue;
        if (parsed.own) ids.ownId(parsed.id);
        else ids.lineNumberId(firstLine + i);
        items.push({ id: parsed.id, input: parsed.input });
      } else {
        const item = pathItem(chunk[i] as string);
        if (!item) continue;
        ids.ownId(item.id);
        items.push(item);
      }
    }
    if (items.length > 0) yield items;
  }
}

function fileSource(file: string, jsonl: boolean): InputSource {
  const description = jsonl ? `JSONL file ${file}` : `list of paths in ${file}`;
  const open = new Set<ReadStream>();
  let counted: Promise<number> | undefined;
  const count = () => (counted ??= countItemLines(file, { comments: !jsonl }));
  return {
    description,
    rereadable: true,
    async *chunks() {
      const stream = createReadStream(file, { highWaterMark: READ_CHUNK_BYTES });
      open.add(stream);
      try {
        yield* lineItems(lineChunks(stream), jsonl, file);
      } finally {
        stream.destroy();
        open.delete(stream);
      }
    },
    count,
    hasItems: async () => (await count()) > 0,
    close: () => open.forEach((stream) => stream.destroy()),
  };
}

/**
 * A source read up to its first chunk of items, which the first read is then given: so that
 * whether there is any item is known before a device starts, and nothing is read twice.
 */
async function primed(source: Omit<InputSource, 'hasItems'>): Promise<InputSource> {
  const reading = source.chunks();
  const first = await reading.next();
  let kept: AsyncGenerator<Item[]> | undefined = first.done
    ? undefined
    : (async function* () {
        yield first.value;
        yield* reading;
      })();
  return {
    ...source,
    chunks() {
      const chunks = kept ?? source.chunks();
      kept = undefined;
      return chunks;
    },
    hasItems: async () => !first.done,
  };
}

function walkSource(description: string, files: () => AsyncGenerator<string[]>): Omit<InputSource, 'hasItems'> {
  return {
    description,
    rereadable: true,
    async *chunks() {
      for await (const paths of files()) yield paths.map((path) => ({ id: path, input: path }));
    },
    count: async () => undefined,
    close: () => undefined, // a walk stops when it is no longer asked for more
  };
}

/** Standard input: read up to its first line that is not blank (to know whether it is JSONL), then as consumed. */
async function stdinSource(stdin: NodeJS.ReadableStream): Promise<InputSource> {
  const lines = lineChunks(stdin as AsyncIterable<Buffer>);
  const held: LineChunk[] = [];
  let first: string | undefined;
  while (first === undefined) {
    const next = await lines.next();
    if (next.done) break;
    held.push(next.value);
    first = next.value.lines.find((line) => line.trim().length > 0);
  }
  const jsonl = first?.trim().startsWith('{') ?? false;
  const source = 'standard input';
  let read = false;
  async function* all(): AsyncGenerator<LineChunk> {
    while (held.length > 0) yield held.shift() as LineChunk;
    yield* lines;
  }
  return primed({
    description: jsonl ? 'JSONL from standard input' : 'paths from standard input',
    rereadable: false,
    chunks() {
      if (read) throw new Error('standard input can be read once');
      read = true;
      return lineItems(all(), jsonl, source);
    },
    count: async () => undefined,
    close: () => (stdin as NodeJS.ReadableStream & { destroy?: () => void }).destroy?.(),
  });
}

function unreadable(spec: string, error: unknown): UsageError {
  return new UsageError(`--inputs ${spec}: cannot be read (${describeFsError(error)}); make it readable for this user, or give a copy you can read`);
}

/**
 * `ownFiles`: the run's own files (its output, the output's arrays and lock), by absolute path. A
 * folder or glob that holds them would otherwise walk into them: the output becomes an item of
 * its own run, or of the next --resume.
 */
export async function openInputs(spec: string, stdin: NodeJS.ReadableStream = process.stdin, ownFiles: readonly string[] = []): Promise<InputSource> {
  const own = new Set(ownFiles.map((file) => path.resolve(file)));
  if (spec === '-') return stdinSource(stdin);
  const info = await stat(spec).catch(() => undefined);
  if (info?.isDirectory() || info?.isFile()) {
    // Checked before anything starts: an unreadable folder would be walked as an empty one (a run
    // of zero items that says nothing), an unreadable file would fail only once the run began.
    const mode = info.isDirectory() ? constants.R_OK | constants.X_OK : constants.R_OK;
    await access(spec, mode).catch((error: unknown) => {
      throw unreadable(spec, error);
    });
  }
  if (info?.isDirectory()) {
    const base = spec.replace(/\/+$/, '');
    const hidden = (name: string) => name.startsWith('.');
    const rule = { descend: (_: string, name: string) => !hidden(name), accept: (rel: string, name: string) => !hidden(name) && !own.has(path.resolve(base, rel)) };
    return primed(
      walkSource(`files under ${spec}`, async function* () {
        for await (const files of walk(spec, rule)) yield files.map((file) => `${base}/${file}`);
      }),
    );
  }
  // Its first chunk (256 KiB) is read now: a file that is broken from its start (not JSONL, ids
  // that cannot be read) is refused before any device starts; a bad line later stops the run there.
  if (info?.isFile()) return primed(fileSource(spec, spec.toLowerCase().endsWith('.jsonl')));

  const glob = globWalk(spec);
  const rule = { ...glob.rule, accept: (rel: string, name: string) => glob.rule.accept(rel, name) && !own.has(path.resolve(glob.root, rel)) };
  const source = await primed(
    walkSource(`glob ${spec}`, async function* () {
      for await (const files of walk(glob.root, rule)) yield files.map(glob.name);
    }),
  );
  // A glob that matches nothing is a mistake worth stopping for before any device starts.
  if (!(await source.hasItems())) {
    throw new UsageError(
      `--inputs ${spec}: no such file or folder, and as a glob it matched no files. Quote globs ('images/**/*.png') so the shell leaves them to gpu-orchestrate.`,
    );
  }
  return source;
}
