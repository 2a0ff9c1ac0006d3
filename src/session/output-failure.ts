/**
 * The output or its .arrays file could not be written (a full disk, a quota, a file size limit,
 * an I/O error): the run stops, and the user gets one message with the file, the error, what is
 * safely in the output and the command that continues it once there is room.
 */
import { OutputError } from '../errors.js';
import type { OutputFailure } from '../journal/journal.js';
import { commandLineWith } from '../util/command-line.js';
import { describeFsError } from '../util/fs-errors.js';
import type { Session } from './state.js';

export function outputFailedError(session: Session, failure: OutputFailure): OutputError {
  const { config, io, journal, stats } = session;
  // Items the output held before this run (a resumed one), and the whole lines this run added.
  const before = session.inputs.held ?? 0;
  const safe = before + journal.linesWritten;
  const total = stats.total === undefined ? undefined : before + stats.total;
  const of = total === undefined ? '' : ` of ${total}`;
  const others = total === undefined ? 'the others' : `the other ${total - safe}`;
  const resume = commandLineWith(io.argv, { add: ['--resume'], remove: ['--overwrite'] });
  const thisRun = before > 0 ? ` (${journal.linesWritten} of them from this run)` : '';
  const trace = config.verbose && failure.error.stack ? `\n${failure.error.stack}` : '';
  return new OutputError(
    `cannot write ${failure.file}: ${describeFsError(failure.error)}. The run stopped: ${safe}${of} items are safely in ${config.output}${thisRun}; ${others} run when you continue. Once the cause is mended (room on the disk, the file size limit, the file system), continue with:\n  ${resume}${trace}`,
  );
}
