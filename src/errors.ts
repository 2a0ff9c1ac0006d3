/**
 * Named errors and the exit codes they map to (src/bin.ts is the one place that maps them).
 * Every message says the cause, the subject and what to do next.
 */
export const ExitCode = {
  ok: 0,
  /** The run finished, but some items failed: their lines have ok=false. */
  itemsFailed: 1,
  /** Bad command line or inputs: nothing was started (or, for a bad line found part-way through the inputs, the run stopped there). */
  usage: 2,
  /** The script or the Python environment cannot run: stopped before any item ran. */
  setup: 3,
  /** The run stopped part-way: every device was lost. What finished is in the output. */
  aborted: 4,
  /**
   * The output or its .arrays file could not be written (a full disk, a quota, an I/O error):
   * the run stopped; what the output holds is whole, and --resume continues it. 74 is
   * sysexits.h's EX_IOERR, beside the 70 (internal error) that bin.ts already uses.
   */
  outputFailed: 74,
  /** Interrupted (Ctrl-C / SIGTERM). */
  interrupted: 130,
} as const;

export class GpuOrchestrateError extends Error {
  constructor(message: string, readonly exitCode: number) {
    super(message);
    this.name = new.target.name;
  }
}

/** The command line or the inputs are wrong. */
export class UsageError extends GpuOrchestrateError {
  constructor(message: string) {
    super(message, ExitCode.usage);
  }
}

/** The user's script or the Python environment cannot run. */
export class SetupError extends GpuOrchestrateError {
  constructor(message: string) {
    super(message, ExitCode.setup);
  }
}

/** The run could not go on (every device lost). */
export class RunAbortedError extends GpuOrchestrateError {
  constructor(message: string) {
    super(message, ExitCode.aborted);
  }
}

/** The output could not be written part-way: the run stopped cleanly, --resume continues it. */
export class OutputError extends GpuOrchestrateError {
  constructor(message: string) {
    super(message, ExitCode.outputFailed);
  }
}
