/**
 * Runs the real CLI (dist/src/bin.js) the way a user would. Every run is registered, so that
 * test/helpers/cleanup.ts can end whatever a test left running and check what it left behind,
 * also when the test failed or timed out.
 */
import { readFileSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { execa } from 'execa';
import { getCurrentTest } from 'vitest/suite';
import { DEFAULTS } from '../../src/options/config.js';
import { MARKER_VARIABLE, killRun, waitGone } from './processes.js';
import { completeLines, scratchDir } from './scratch.js';

export { completeLines, scratchDir } from './scratch.js';
export { hostPids, isAlive, survivors, waitFor } from './processes.js';

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
export const BIN = path.join(ROOT, 'dist/src/bin.js');
export const FIXTURES = path.join(ROOT, 'test/fixtures');
/** The interpreter the CLI uses (GPU_ORCHESTRATE_PYTHON, else its default): checks run with it too. */
export const PYTHON = process.env.GPU_ORCHESTRATE_PYTHON ?? DEFAULTS.python;

export function fixture(name: string): string {
  return path.join(FIXTURES, name);
}

export interface CliResult {
  exitCode: number | undefined;
  /** The signal that ended the controller, when one did. */
  signal: string | undefined;
  stdout: string;
  stderr: string;
  /** The marker every process of this run inherits; see survivors(). */
  marker: string;
  /** The run's TMPDIR: its private run folder is made (and must be removed) there. */
  tmp: string;
}

export interface StartedCli {
  /** The controller's pid; it leads its own process group (started detached, as from a shell). */
  pid: number;
  marker: string;
  tmp: string;
  done: Promise<CliResult>;
  /** What the controller has written to stderr so far. */
  stderrSoFar(): string;
  /** As a terminal sends Ctrl-C: to the whole process group, controller, hosts and replicas. */
  signalGroup(signal: NodeJS.Signals): void;
  /** To the controller alone, as `kill PID` does. */
  signalController(signal: NodeJS.Signals): void;
  /** Writes to the controller's standard input, as a pipe from another program would (without `input`). */
  writeStdin(text: string): void;
  /** Closes its standard input: the other program ended. */
  endStdin(): void;
  /** Closes the read end of the controller's stderr, as `2>&1 | head -1` does once it has its line. */
  closeStderr(): void;
}

export interface CliOptions {
  cwd?: string;
  input?: string;
  env?: Record<string, string>;
  /** A command that runs `node BIN args` in its turn by exec, so the controller's pid is the one started (setpriv, sh -c '...; exec "$@"'). */
  wrapper?: string[];
}

interface Registered {
  run: StartedCli;
  args: string[];
  /** The test that started it; undefined when started in a beforeAll. */
  test: string | undefined;
  result: CliResult | undefined;
}

const registered: Registered[] = [];
let runCounter = 0;
/** When the current test times out (set by cleanup.ts); a run is killed before that. */
let testDeadline: number | undefined;
/** What a run started outside a test (in a beforeAll) may take: 15 s less than vitest.config.ts gives a hook. */
const OUTSIDE_TEST_LIMIT_MS = 105_000;
/** Time kept between a run's end and the test's: to report the run's output and clean up. */
const REPORT_MARGIN_MS = 15_000;

export function setTestDeadline(deadline: number | undefined): void {
  testDeadline = deadline;
}

function tail(text: string, lines = 15): string {
  return text.trimEnd().split('\n').slice(-lines).join('\n');
}

/** Starts the real CLI without waiting for it. It is killed, whole tree, before the test's own timeout. */
export function startCli(args: string[], options: CliOptions = {}): StartedCli {
  const marker = `go-test-${process.pid}-${Date.now()}-${runCounter++}`;
  const tmp = scratchDir('run-tmp-');
  const limitMs = Math.max(5_000, testDeadline === undefined ? OUTSIDE_TEST_LIMIT_MS : testDeadline - Date.now() - REPORT_MARGIN_MS);
  const [command, ...commandArgs] = [...(options.wrapper ?? []), 'node', BIN, ...args] as [string, ...string[]];
  const subprocess = execa(command, commandArgs, {
    reject: false,
    cwd: options.cwd ?? ROOT,
    input: options.input,
    detached: true,
    env: { [MARKER_VARIABLE]: marker, TMPDIR: tmp, ...options.env },
  });
  const pid = subprocess.pid as number;
  let stderrSoFar = '';
  subprocess.stderr?.on('data', (chunk: Buffer) => {
    stderrSoFar += chunk.toString();
  });
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    killRun(pid, marker);
  }, limitMs);
  const entry: Registered = { run: undefined as unknown as StartedCli, args, test: getCurrentTest()?.id, result: undefined };
  const done = subprocess.then((outcome) => {
    clearTimeout(timer);
    const result: CliResult = { exitCode: outcome.exitCode, signal: outcome.signal, stdout: String(outcome.stdout), stderr: String(outcome.stderr), marker, tmp };
    entry.result = result;
    if (timedOut) throw new Error(`gpu-orchestrate ${args.join(' ')} ran past ${limitMs / 1000} s and was killed; its stderr ended with:\n${tail(result.stderr)}`);
    return result;
  });
  done.catch(() => undefined); // a test that never awaits a run that timed out is failed by cleanup.ts
  const signal = (target: number) => (name: NodeJS.Signals) => {
    try {
      process.kill(target, name);
    } catch {
      // already gone: the test's assertions on the result say what happened
    }
  };
  const closeStderr = () => subprocess.stderr?.destroy();
  entry.run = {
    pid, marker, tmp, done,
    stderrSoFar: () => stderrSoFar,
    signalGroup: signal(-pid),
    signalController: signal(pid),
    writeStdin: (text) => void subprocess.stdin?.write(text),
    endStdin: () => void subprocess.stdin?.end(),
    closeStderr,
  };
  registered.push(entry);
  return entry.run;
}

export async function runCli(args: string[], options: CliOptions = {}): Promise<CliResult> {
  return startCli(args, options).done;
}

/**
 * Ends the runs a test started (every run, without a test id): kills those still running and
 * whatever outlived them. Returns what was wrong, for a test that otherwise passed: a run still
 * running, processes that outlived their run, a run folder left in the run's TMPDIR by a
 * controller that was not SIGKILLed.
 */
export async function endRuns(test?: string): Promise<string[]> {
  const problems: string[] = [];
  for (const entry of registered.filter((candidate) => test === undefined || candidate.test === test)) {
    registered.splice(registered.indexOf(entry), 1);
    const { run, args } = entry;
    const what = `gpu-orchestrate ${args.join(' ')}`;
    if (entry.result === undefined) {
      problems.push(`${what} was still running when the test ended; killed`);
      killRun(run.pid, run.marker);
      await Promise.race([run.done.catch(() => undefined), new Promise((resolve) => setTimeout(resolve, 5_000))]);
    }
    const left = await waitGone(run.marker);
    if (left.length > 0) {
      problems.push(`processes ${left.join(', ')} outlived ${what}; killed`);
      killRun(undefined, run.marker);
    }
    if (entry.result !== undefined && entry.result.signal !== 'SIGKILL') {
      const folders = readdirSync(run.tmp);
      if (folders.length > 0) problems.push(`${what} left ${folders.join(', ')} in its TMPDIR ${run.tmp}`);
    }
  }
  return problems;
}

/** Kills every registered run at once, synchronously: for a worker that is exiting. */
export function killAllRuns(): void {
  for (const { run } of registered) killRun(run.pid, run.marker);
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

/** The lines of a finished run's output: every line must be whole JSON. */
export function readOutput(file: string): OutputLine[] {
  return readFileSync(file, 'utf8')
    .split('\n')
    .filter((line) => line.trim().length > 0)
    .map((line) => JSON.parse(line) as OutputLine);
}

/** How many whole lines an output being written holds so far (a torn last line is not counted). */
export function linesSoFar(file: string): number {
  return completeLines(file).length;
}

/** Lines of a fixture's log file being appended to: whole lines only, none while it does not exist. */
export function logLines(file: string): string[] {
  return completeLines(file);
}

export function jsonlItems(count: number, make: (index: number) => Record<string, unknown> = (index) => ({ id: `item-${index}`, value: index })): string {
  return Array.from({ length: count }, (_, index) => JSON.stringify(make(index))).join('\n') + '\n';
}
