/**
 * The inputs as the reader hands them over (feed.ts): items the scheduler may hand out, the end
 * of the inputs (the run's total is known then), and a bad line or a repeated id, which stops the
 * run where the reading found it.
 */
import { UsageError } from '../errors.js';
import type { FedItem } from './feed.js';
import type { Session } from './state.js';

export function inputsRead(session: Session, items: FedItem[]): void {
  session.scheduler.offer(session.feed.take(items));
}

export function inputsEnded(session: Session): void {
  session.scheduler.endOfInput();
  session.stats.total = session.scheduler.total;
}

export function inputsFailed(session: Session, error: Error): void {
  if (session.flags.fatal) return;
  const written = session.stats.settled;
  const where = `The run stopped there: ${written} item(s) are in ${session.config.output}; once the inputs are fixed, run again with --resume to continue.`;
  const cause = error instanceof UsageError ? error.message : `${session.feed.description}: could not be read (${error.message})`;
  session.flags.fatal = new UsageError(`${cause}\n${where}`);
}
