/**
 * Draining: the way Ctrl-C ends a run, shared by --max-failures. No new work is handed out, the
 * batches waiting behind a running one are asked back (a replica gives back those it has not
 * started: their items are left for --resume), the batches running get --grace seconds to finish
 * and be written, then every process is stopped (session.ts: loop, finished, stop) and the output
 * can be resumed.
 */
import type { RunFlags, Session } from './state.js';

export function drain(session: Session, cause: NonNullable<RunFlags['drainCause']>): void {
  const { flags } = session;
  flags.draining = true;
  flags.drainCause = cause;
  session.feed.stop(); // read no more inputs: nothing new will be handed out
  flags.graceDeadline = session.clock.now() + session.config.graceSeconds * 1000;
  for (const { device, replica, batch } of session.scheduler.drainTakeBacks()) session.transport.takeBack(session.fleet.replicaPeer(device, replica), batch);
}
