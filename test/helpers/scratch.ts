/**
 * Folders the tests make. Each test file gets one root under the system's temporary folder;
 * test/helpers/cleanup.ts points TMPDIR at it, so whatever a test (or a process it starts)
 * puts in "the temporary folder" lands there too. A test's own folders are removed after it,
 * the root after its file, also when a test fails or times out.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { getCurrentTest } from 'vitest/suite';

// Remembered across test files run by the same worker: by then TMPDIR points at a root.
const SYSTEM_TMPDIR = (process.env.GO_TEST_SYSTEM_TMPDIR ??= tmpdir());

let root: string | undefined;

/** This test file's root folder, made on first use: go-test-<worker pid>-XXXXXX. */
export function testRoot(): string {
  root ??= mkdtempSync(path.join(SYSTEM_TMPDIR, `go-test-${process.pid}-`));
  return root;
}

const made: { dir: string; test: string | undefined }[] = [];

/** A new folder under the file's root, removed after the test that made it (or after the file). */
export function scratchDir(prefix = 'go-test-'): string {
  const dir = mkdtempSync(path.join(testRoot(), prefix));
  made.push({ dir, test: getCurrentTest()?.id });
  return dir;
}

/** Removes the folders a test made; with no test id, every folder and the root itself. */
export function removeScratch(test?: string): void {
  for (let index = made.length - 1; index >= 0; index -= 1) {
    const entry = made[index] as (typeof made)[number];
    if (test !== undefined && entry.test !== test) continue;
    rmSync(entry.dir, { recursive: true, force: true });
    made.splice(index, 1);
  }
  if (test === undefined && root !== undefined) {
    rmSync(root, { recursive: true, force: true });
    root = undefined;
  }
}

/**
 * The complete lines of a file that another process may be appending to: a last line without
 * its newline yet (a torn read) is left out. No file yet: no lines.
 */
export function completeLines(file: string): string[] {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch {
    return [];
  }
  const end = text.lastIndexOf('\n');
  return end < 0 ? [] : text.slice(0, end).split('\n').filter((line) => line.length > 0);
}
