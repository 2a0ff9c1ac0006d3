/**
 * Live progress on stderr (stdout stays free for what a command prints as its answer):
 * - a terminal: listr2, one row per device and an overall row, redrawn in place;
 * - not a terminal (a log file, CI): one compact line every few seconds;
 * - --quiet: nothing.
 */
import { Listr, ProcessOutput } from 'listr2';
import { deviceBrief, deviceLine, overallLine, type RunStats } from './stats.js';

export interface ProgressView {
  start(): void;
  /** Print a message above the live rows (warnings, worker errors). */
  log(message: string): void;
  stop(): Promise<void>;
}

const REDRAW_MS = 200;
export const LINE_INTERVAL_MS = 5_000;

/** `write`: where the line view prints a line (stderr, unless a test captures it). */
export function chooseView(stats: RunStats, options: { quiet: boolean; tty: boolean; write?: (line: string) => void }): ProgressView {
  if (options.quiet) return new QuietView();
  return options.tty ? new ListrView(stats) : new LineView(stats, options.write);
}

class QuietView implements ProgressView {
  start(): void {}
  log(): void {}
  async stop(): Promise<void> {}
}

export class LineView implements ProgressView {
  private timer: NodeJS.Timeout | undefined;
  constructor(
    private readonly stats: RunStats,
    private readonly write: (line: string) => void = (line) => process.stderr.write(`${line}\n`),
    private readonly intervalMs = LINE_INTERVAL_MS,
  ) {}

  start(): void {
    this.timer = setInterval(() => this.print(), this.intervalMs);
    this.timer.unref();
  }

  private print(): void {
    const now = Date.now();
    const devices = this.stats.devices.map((device) => deviceBrief(device, now));
    this.write(`[gpu-orchestrate] ${[overallLine(this.stats, now), ...devices].join(' | ')}`);
  }

  log(message: string): void {
    this.write(message);
  }

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.print(); // the last state, so a log always ends with the final counts
  }
}

class ListrView implements ProgressView {
  private finish: (() => void) | undefined;
  private running: Promise<unknown> | undefined;
  private readonly pendingLogs: string[] = [];

  constructor(private readonly stats: RunStats) {}

  start(): void {
    const stopped = new Promise<void>((resolve) => {
      this.finish = resolve;
    });
    const rows = [
      ...this.stats.devices.map((device) => ({
        title: device.label,
        task: async (_: unknown, task: { title: string; skip(message: string): void }) => {
          const timer = setInterval(() => {
            task.title = deviceLine(device, Date.now());
          }, REDRAW_MS);
          await stopped;
          clearInterval(timer);
          // listr2 marks a task that returns with ✔: only a device that finished its work gets it;
          // an interrupted or stopped one ends skipped (↓), its row saying what it finished.
          if (device.state === 'done') task.title = deviceLine(device, Date.now());
          else task.skip(deviceLine(device, Date.now()));
        },
      })),
      {
        title: 'overall',
        task: async (_: unknown, task: { title: string; output: string; skip(message: string): void }) => {
          const timer = setInterval(() => {
            task.title = overallLine(this.stats, Date.now());
            const message = this.pendingLogs.shift();
            if (message) task.output = message;
          }, REDRAW_MS);
          await stopped;
          clearInterval(timer);
          if (this.stats.total !== undefined && this.stats.settled >= this.stats.total) task.title = overallLine(this.stats, Date.now());
          else task.skip(overallLine(this.stats, Date.now()));
        },
      },
    ];
    const list = new Listr(rows, {
      concurrent: true,
      exitOnError: false,
      registerSignalListeners: false,
      rendererOptions: { processOutput: new ProcessOutput(process.stderr, process.stderr), collapseSubtasks: false, bottomBar: 5 },
    } as never);
    this.running = list.run().catch(() => undefined);
  }

  log(message: string): void {
    this.pendingLogs.push(message);
  }

  async stop(): Promise<void> {
    this.finish?.();
    await this.running;
    for (const message of this.pendingLogs.splice(0)) process.stderr.write(`${message}\n`);
  }
}
