/**
 * Folders walked lazily, in the sorted order the whole list of paths would have (compared as
 * strings, as Array.prototype.sort does), so that a run starts at once and holds one directory's
 * listing per level it is inside, not every path of the tree.
 *
 * Depth first, each directory's entries sorted with a directory's name followed by "/": then
 * "a-b.png" < "a.png" < "a/x.png", as the full paths sort. As tinyglobby (which this replaces,
 * and which test/inputs/walk.test.ts compares it with): symbolic links are followed (a link to a
 * file is a file named by the link's path; a link to a folder is walked, unless it leads back to
 * a folder the walk is inside), broken links and folders that cannot be read are skipped, and
 * only regular files (or links to something that is not a folder) are files.
 *
 * The bound: one folder's names are sorted at once, so a flat folder of N files holds its N
 * entries while it is listed (a few hundred bytes each, with what readdir returns), and each
 * folder the walk is inside keeps its listing until it is done.
 */
import { readdir, realpath, stat } from 'node:fs/promises';
import path from 'node:path';

export interface WalkRule {
  /** Walk into this folder? `rel`: its path under the walk's root, with "/" separators. */
  descend(rel: string, name: string): boolean;
  /** Is this file an item? */
  accept(rel: string, name: string): boolean;
}

interface Entry {
  name: string;
  /** What it sorts by: a folder's name is followed by "/". */
  key: string;
  folder: boolean;
  /** For a link to a folder: where it leads, to stop a walk going round a loop of links. */
  real?: string;
}

interface Frame {
  /** The folder's path on disk, and under the root ('' for the root). */
  dir: string;
  rel: string;
  /** Its real path (links resolved). */
  real: string;
  entries: Entry[];
  at: number;
}

/** Items handed on at a time: one event-loop turn's worth, not a whole large folder at once. */
const CHUNK = 1024;

/** Where a link leads: a file (anything but a folder), a folder (with its real path), or nowhere. */
async function followLink(dir: string, name: string): Promise<Entry | undefined> {
  const target = path.join(dir, name);
  try {
    if (!(await stat(target)).isDirectory()) return { name, key: name, folder: false };
    return { name, key: `${name}/`, folder: true, real: await realpath(target) };
  } catch {
    return undefined; // a broken link
  }
}

async function list(dir: string): Promise<Entry[]> {
  let dirents;
  try {
    dirents = await readdir(dir, { withFileTypes: true });
  } catch {
    return []; // unreadable, or gone since its parent was listed
  }
  const entries: Entry[] = [];
  const links: Promise<Entry | undefined>[] = [];
  for (const dirent of dirents) {
    if (dirent.isFile()) entries.push({ name: dirent.name, key: dirent.name, folder: false });
    else if (dirent.isDirectory()) entries.push({ name: dirent.name, key: `${dirent.name}/`, folder: true });
    else if (dirent.isSymbolicLink()) links.push(followLink(dir, dirent.name));
    // sockets, FIFOs, devices: not files
  }
  for (const entry of await Promise.all(links)) if (entry) entries.push(entry);
  return entries.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
}

/** Is `real` the folder `inside`, or above it? Then walking it from there goes round a loop. */
function leadsBack(real: string, inside: string): boolean {
  return inside === real || inside.startsWith(real.endsWith('/') ? real : `${real}/`);
}

/** The files under `root` that the rule accepts, as paths under the root, in sorted order, a chunk at a time. */
export async function* walk(root: string, rule: WalkRule): AsyncGenerator<string[]> {
  let rootReal: string;
  try {
    if (!(await stat(root)).isDirectory()) return;
    rootReal = await realpath(root);
  } catch {
    return;
  }
  const stack: Frame[] = [{ dir: root, rel: '', real: rootReal, entries: await list(root), at: 0 }];
  let files: string[] = [];
  while (stack.length > 0) {
    const frame = stack[stack.length - 1] as Frame;
    const entry = frame.entries[frame.at];
    if (!entry) {
      stack.pop();
      continue;
    }
    frame.at += 1;
    const rel = frame.rel === '' ? entry.name : `${frame.rel}/${entry.name}`;
    if (!entry.folder) {
      if (rule.accept(rel, entry.name)) files.push(rel);
      if (files.length >= CHUNK) {
        yield files;
        files = [];
      }
      continue;
    }
    if (!rule.descend(rel, entry.name)) continue;
    const real = entry.real ?? path.join(frame.real, entry.name);
    if (entry.real !== undefined && stack.some((open) => leadsBack(entry.real as string, open.real))) continue;
    if (files.length > 0) {
      yield files; // what is found so far may start while the next folder is listed
      files = [];
    }
    const dir = path.join(frame.dir, entry.name);
    stack.push({ dir, rel, real, entries: await list(dir), at: 0 });
  }
  if (files.length > 0) yield files;
}
