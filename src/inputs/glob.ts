/**
 * A glob as a lazy walk (walk.ts): the folder to start from (the pattern's leading parts without
 * a wildcard), the folders worth walking into (those a match could lie under), and the files
 * that match. Patterns mean what they meant when tinyglobby listed them for gpu-orchestrate
 * (picomatch, hidden files and folders matched only by a pattern that names the dot, no
 * directory expansion), and paths are named as it named them: relative to the working
 * directory, so an output written before keeps its ids.
 */
import { posix } from 'node:path';
import picomatch from 'picomatch';
import type { WalkRule } from './walk.js';

const MATCH_OPTIONS = { dot: false, posix: true } as const;

export interface GlobWalk {
  /** The folder the walk starts from. */
  root: string;
  rule: WalkRule;
  /** A file's path under the root -> its item path (relative to the working directory). */
  name(rel: string): string;
}

function parts(pattern: string): string[] {
  const scanned = picomatch.scan(pattern, { parts: true });
  return scanned.parts?.length ? scanned.parts : [pattern];
}

function isDynamic(part: string): boolean {
  const scanned = picomatch.scan(part);
  return scanned.isGlob || scanned.negated;
}

/** The pattern relative to the working directory and normalised ("./a/../b/*" -> "b/*"), as tinyglobby normalises it. */
function normalise(pattern: string, cwd: string): string {
  const trimmed = pattern.endsWith('/') ? pattern.slice(0, -1) : pattern;
  const absolute = posix.isAbsolute(trimmed) ? trimmed : posix.join(cwd, trimmed);
  return posix.relative(cwd, absolute) || '.';
}

/** The leading parts without a wildcard, never the last part (it names the files); a trailing ** takes one more off, since it also matches nothing. */
function staticParts(all: string[]): string[] {
  const fixed: string[] = [];
  for (let i = 0; i < all.length; i += 1) {
    const part = all[i] as string;
    if (part === '**' && i === all.length - 1) {
      fixed.pop();
      break;
    }
    if (i === all.length - 1 || isDynamic(part)) break;
    fixed.push(part);
  }
  return fixed;
}

/**
 * Could a file under this folder match? Part by part, as far as the folder's path goes; a ** (or
 * a part with a "/" inside braces) answers yes for everything below it. tinyglobby's partial
 * matcher, for one pattern.
 */
function partialMatcher(patternParts: string[]): (folder: string) => boolean {
  const matchers = patternParts.map((part) => picomatch(part, MATCH_OPTIONS));
  return (folder) => {
    const folderParts = folder.split('/');
    const shared = Math.min(folderParts.length, patternParts.length);
    let i = 0;
    for (; i < shared; i += 1) {
      const part = patternParts[i] as string;
      if (part.includes('/')) return true;
      if (!(matchers[i] as picomatch.Matcher)(folderParts[i] as string)) break;
      if (part === '**') return true;
    }
    return i === folderParts.length;
  };
}

export function globWalk(pattern: string, cwd: string = process.cwd()): GlobWalk {
  const normalised = normalise(pattern, cwd);
  const all = parts(normalised);
  // Escapes (\[) name the literal character on disk.
  const prefix = staticParts(all).join('/').replace(/\\/g, '');
  const lead = prefix === '' ? '' : `${prefix}/`;
  const matches = picomatch(normalised, MATCH_OPTIONS);
  const couldHold = partialMatcher(all);
  return {
    root: posix.resolve(cwd, prefix),
    rule: {
      descend: (rel) => couldHold(lead + rel),
      accept: (rel) => matches(lead + rel),
    },
    name: (rel) => lead + rel,
  };
}
