/**
 * What a run wrote and how it ended, kept for the reports CI reads (src/report/junit.ts,
 * src/report/github.ts). The session tells it each line it writes and why it stopped early;
 * everything else (devices, counts) is read from the run's stats at the end.
 */
import { ExitCode, GpuOrchestrateError, RunAbortedError, SetupError } from '../errors.js';
import type { OutputRecord } from '../journal/journal.js';
import type { RunStats } from '../progress/stats.js';
import type { ErrorInfo } from '../transport/messages.js';

/** An item's line, without its input and result: what a report shows of it. */
export interface WrittenItem {
  id: string;
  ok: boolean;
  device: string;
  duration: number;
  error: ErrorInfo | undefined;
}

/** Something that went wrong with the run or a device, rather than with one item. */
export interface RunProblem {
  /** 'run', or the label of the device it concerns. */
  subject: string;
  /** A stable name: CI tools track a test case's history by it. */
  name: string;
  type: string;
  message: string;
  detail: string;
}

/** How the run ended: its exit code, and the error that ended it, if one did. */
export interface RunEnd {
  exitCode: number;
  error: unknown;
}

/**
 * Failed items kept in full for the reports; past this many they are counted (a broken script on
 * a run of 300,000 items must not hold 300,000 tracebacks, nor write them into the report).
 */
export const LISTED_FAILURES = 1000;

/** bin.ts's exit code for an error it did not expect. */
const INTERNAL_ERROR = 70;

export class RunRecord {
  readonly failedItems: WrittenItem[] = [];
  /** Failed items past LISTED_FAILURES: counted, not kept. */
  failedNotListed = 0;
  /** Items written ok; kept only when every item is listed (--report-junit-all). */
  readonly okItems: WrittenItem[] = [];
  okCount = 0;
  /** Why the run stopped early, as the session decided it (--max-failures). */
  readonly stops: RunProblem[] = [];
  /** The run's counters, once a session opened: devices, totals, times. */
  stats: RunStats | undefined;
  readonly startedAt = new Date();

  constructor(readonly listOk: boolean) {}

  watch(stats: RunStats): void {
    this.stats = stats;
  }

  written(record: OutputRecord): void {
    const item = (): WrittenItem => ({ id: record.id, ok: record.ok, device: record.device, duration: record.duration, error: record.error });
    if (record.ok) {
      this.okCount += 1;
      if (this.listOk) this.okItems.push(item());
    } else if (this.failedItems.length < LISTED_FAILURES) this.failedItems.push(item());
    else this.failedNotListed += 1;
  }

  stopped(problem: RunProblem): void {
    this.stops.push(problem);
  }

  /** Every failed item written, listed or not. */
  get failedCount(): number {
    return this.failedItems.length + this.failedNotListed;
  }
}

function firstLine(text: string): string {
  return text.split('\n', 1)[0] ?? '';
}

/** The error that ended the run, as a problem of the run. */
function fromError(error: unknown): RunProblem {
  const message = error instanceof Error ? error.message : String(error);
  const [name, type] =
    error instanceof SetupError
      ? ['run: the script or the Python environment cannot run', 'SetupError']
      : error instanceof RunAbortedError
        ? ['run: every device was lost', 'RunAborted']
        : error instanceof GpuOrchestrateError
          ? [`run: stopped (exit ${error.exitCode})`, error.name]
          : ['run: internal error', error instanceof Error ? error.name : 'Error'];
  return { subject: 'run', name, type, message: firstLine(message), detail: error instanceof Error && !(error instanceof GpuOrchestrateError) ? (error.stack ?? message) : message };
}

/**
 * Everything that went wrong beyond single items, in the order a reader needs it: why the run
 * ended (an error, an interrupt, --max-failures), then each device taken out of the run.
 */
export function runProblems(record: RunRecord, end: RunEnd, output: string): RunProblem[] {
  const problems: RunProblem[] = [];
  if (end.error !== undefined) problems.push(fromError(end.error));
  if (end.exitCode === ExitCode.interrupted) {
    const written = record.okCount + record.failedCount;
    const total = record.stats?.total ?? written;
    problems.push({ subject: 'run', name: 'run: interrupted', type: 'Interrupted', message: `interrupted (Ctrl-C or SIGTERM): ${written} of ${total} items are in ${output}`, detail: 'Run the same command again with --resume to continue: only the items the output lacks run.' });
  }
  problems.push(...record.stops);
  for (const device of record.stats?.devices ?? []) {
    if (device.state !== 'out') continue;
    problems.push({ subject: device.label, name: `device ${device.label}`, type: 'DeviceLost', message: `${device.label} ${device.note ?? 'was taken out of the run'}`, detail: device.note ?? '' });
  }
  return problems;
}

/** The exit code an error maps to (as bin.ts maps it). */
export function exitCodeOf(error: unknown): number {
  return error instanceof GpuOrchestrateError ? error.exitCode : INTERNAL_ERROR;
}
