/** Runs the real CLI (dist/src/bin.js) the way a user would, and checks for surviving processes. */
import { readFileSync, readdirSync } from 'node:fs';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { execa, type Options, type ResultPromise } from 'execa';

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
export const BIN = path.join(ROOT, 'dist/src/bin.js');
export const FIXTURES = path.join(ROOT, 'test/fixtures');

export function fixture(name: string): string {
  return path.join(FIXTURES, name);
}

export function scratchDir(prefix = 'go-test-'): string {
  return mkdtempSync(path.join(tmpdir(), prefix));
}

export interface CliResult {
  exitCode: number | undefined;
  stdout: string;
  stderr: string;
  /** The marker every process of this run inherits; see survivors(). */
  marker: string;
}

let runCounter = 0;

export interface StartedCli {
  /** The controller's process, to signal it as a user (Ctrl-C) or the system (SIGKILL) would. */
  subprocess: ResultPromise;
  marker: string;
  done: Promise<CliResult>;
}

/** Starts the real CLI without waiting for it. */
export function startCli(args: string[], options: Options & { env?: Record<string, string> } = {}): StartedCli {
  const marker = `go-test-${process.pid}-${Date.now()}-${runCounter++}`;
  const subprocess = execa('node', [BIN, ...args], {
    reject: false,
    cwd: options.cwd ?? ROOT,
    input: options.input as string | undefined,
    env: { GPU_ORCHESTRATE_TEST_MARKER: marker, ...options.env },
    timeout: 180_000,
  });
  const done = subprocess.then((result) => ({ exitCode: result.exitCode, stdout: String(result.stdout), stderr: String(result.stderr), marker }));
  return { subprocess, marker, done };
}

export async function runCli(args: string[], options: Options & { env?: Record<string, string> } = {}): Promise<CliResult> {
  return startCli(args, options).done;
}

/** Pids of live processes that inherited the marker: hosts and replicas that outlived the run. */
export function survivors(marker: string): number[] {
  const found: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry) || Number(entry) === process.pid) continue;
    try {
      const environ = readFileSync(`/proc/${entry}/environ`, 'latin1');
      const status = readFileSync(`/proc/${entry}/status`, 'latin1');
      if (/State:\s+Z/.test(status)) continue; // a zombie holds no memory: only its parent's wait() is due
      if (environ.split('\0').includes(`GPU_ORCHESTRATE_TEST_MARKER=${marker}`)) found.push(Number(entry));
    } catch {
      // the process ended while we looked, or is not ours to read
    }
  }
  return found;
}

export interface OutputLine {
  id: string;
  input: unknown;
  ok: boolean;
  result?: unknown;
  error?: { type: string; message: string; traceback: string };
  device: string;
  replica: number;
  attempts: number;
  duration: number;
}

export function readOutput(file: string): OutputLine[] {
  return readFileSync(file, 'utf8')
    .split('\n')
    .filter((line) => line.trim().length > 0)
    .map((line) => JSON.parse(line) as OutputLine);
}

export function jsonlItems(count: number, make: (index: number) => Record<string, unknown> = (index) => ({ id: `item-${index}`, value: index })): string {
  return Array.from({ length: count }, (_, index) => JSON.stringify(make(index))).join('\n') + '\n';
}

/** Polls until `condition` holds, or fails the test with `what` after `timeoutMs`. */
export async function waitFor(condition: () => boolean, what: string, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs / 1000} s waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return !/State:\s+Z/.test(readFileSync(`/proc/${pid}/status`, 'latin1'));
  } catch {
    return false;
  }
}

/** Lines of a fixture's log file, or none while it does not exist yet. */
export function logLines(file: string): string[] {
  try {
    return readFileSync(file, 'utf8').split('\n').filter(Boolean);
  } catch {
    return [];
  }
}

/** Pids of the device hosts (python -m gpu_orchestrate_worker host) of the run with this marker. */
export function hostPids(marker: string): number[] {
  return survivors(marker).filter((pid) => {
    try {
      return readFileSync(`/proc/${pid}/cmdline`, 'latin1').split('\0').includes('gpu_orchestrate_worker');
    } catch {
      return false;
    }
  });
}
