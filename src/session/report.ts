/**
 * How a run ends for the user: the summary, the exit code, and the command that continues it
 * (resume after an interrupt or --max-failures, retry the failed items).
 */
import { ExitCode } from '../errors.js';
import { summaryTable } from '../progress/summary.js';
import { commandLineWith } from '../util/command-line.js';
import { outputFailedError } from './output-failure.js';
import type { Session } from './state.js';

export function report(session: Session): number {
  const { stats, config, io, flags } = session;
  stats.endedAt = session.clock.now();
  // A write that failed, also the last one at close, decides what the user must do first.
  if (session.journal.failure) throw outputFailedError(session, session.journal.failure);
  if (flags.fatal) throw flags.fatal;
  if (!config.quiet) io.stderr(`\n${summaryTable(stats, stats.endedAt)}\n`);
  if (flags.drainCause === 'max-failures') {
    const resume = commandLineWith(io.argv, { add: ['--resume'], remove: ['--overwrite'] });
    const of = stats.total === undefined ? '' : ` of ${stats.total}`;
    io.stderr(`stopped early: ${stats.failed} item(s) failed, reaching --max-failures ${config.maxFailures}; ${stats.done + stats.failed}${of} items are in ${config.output} (the failed ones with "ok": false and the error). Once the cause is fixed, run the rest:\n  ${resume}\n(add --retry-failed to run the failed items again too)\n`);
    return ExitCode.itemsFailed;
  }
  if (flags.draining) {
    const resume = commandLineWith(io.argv, { add: ['--resume'], remove: ['--overwrite'] });
    const of = stats.total === undefined ? '' : ` of ${stats.total}`;
    io.stderr(`interrupted: ${stats.done + stats.failed}${of} items are in ${config.output}. To continue:\n  ${resume}\n`);
    return ExitCode.interrupted;
  }
  if (stats.failed > 0) {
    const retry = commandLineWith(io.argv, { add: ['--retry-failed'], remove: ['--overwrite', '--resume'] });
    io.stderr(`${stats.failed} item(s) failed: their lines in ${config.output} have "ok": false with the error. To run only them again:\n  ${retry}\n`);
    return ExitCode.itemsFailed;
  }
  return ExitCode.ok;
}
