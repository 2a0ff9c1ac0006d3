/**
 * How a run ends for the user: the summary, the exit code, and the command that continues it
 * (resume after an interrupt, retry the failed items).
 */
import { ExitCode } from '../errors.js';
import { summaryTable } from '../progress/summary.js';
import { commandLineWith } from '../util/command-line.js';
import type { Session } from './state.js';

export function report(session: Session): number {
  const { stats, config, io, flags } = session;
  stats.endedAt = session.clock.now();
  if (flags.fatal) throw flags.fatal;
  if (!config.quiet) io.stderr(`\n${summaryTable(stats, stats.endedAt)}\n`);
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
