/**
 * --max-failures N (--fail-fast: 1): once N items are written as failed, the run drains as after
 * Ctrl-C and ends with exit 1. For CI, and for the long run whose broken script would otherwise
 * fail every item one by one (Ray Data's max_errored_blocks). Checked after each write of lines.
 */
import { drain } from './drain.js';
import type { Session } from './state.js';

export function checkFailureLimit(session: Session): void {
  const limit = session.config.maxFailures;
  const { flags, stats, scheduler } = session;
  // Already ending, or nothing left to stop: the run ends as it would have.
  if (limit === undefined || stats.failed < limit || flags.draining || flags.fatal || scheduler.isDone) return;
  drain(session, 'max-failures');
  const why = `${stats.failed} item(s) failed, reaching --max-failures ${limit}`;
  session.record.stopped({ subject: 'run', name: 'run: stopped at --max-failures', type: 'MaxFailures', message: `stopped early: ${why}`, detail: `stopped early: ${why}; no new work was handed out. The items not run are missing from ${session.config.output}: fix the cause, then run the same command with --resume (and --retry-failed to run the failed items again).` });
  session.view.log(`stopping: ${why}. No new work; waiting up to ${session.config.graceSeconds} s for the ${scheduler.inFlightItems} item(s) in flight.`);
}
