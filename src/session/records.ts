/**
 * Output lines: what an item's line says, and writing lines with the counters that go with them.
 */
import type { OutputRecord } from '../journal/journal.js';
import type { Exhausted } from '../scheduler/retry-policy.js';
import type { ErrorInfo, Outcome } from '../transport/messages.js';
import { checkFailureLimit } from './failure-limit.js';
import type { DeviceEntry, Session } from './state.js';

/** The line of an item that ran on `entry`'s device. id, index and ok come first: read-back.ts reads them from a line's bytes. */
export function outputRecord(session: Session, index: number, entry: DeviceEntry, replica: number, attempts: number, outcome: Outcome): OutputRecord {
  const item = session.feed.item(index);
  const where = { device: entry.device.label, replica, attempts, duration: outcome.seconds };
  const id = item?.id ?? String(index);
  return outcome.ok
    ? { id, index, ok: true, input: item?.input, result: outcome.result, ...where }
    : { id, index, ok: false, input: item?.input, error: outcome.error, ...where };
}

/** The failed line of an item the scheduler gave up on; `lastError` is what it suffered last. */
export function exhaustedRecord(session: Session, exhausted: Exhausted, entry: DeviceEntry, replica: number, lastError: ErrorInfo): OutputRecord {
  const tried = exhausted.devicesTried.map((index) => session.devices[index]?.device.label ?? String(index)).join(', ');
  const error: ErrorInfo =
    exhausted.cause === 'out of memory'
      ? { type: 'OutOfMemoryError', message: `out of memory on ${tried} (${exhausted.count} tries), even alone in its batch: ${lastError.message}`.trim(), traceback: lastError.traceback }
      : exhausted.cause === 'timed out'
        ? { type: 'Timeout', message: `timed out after ${session.config.timeoutSeconds} s, ${exhausted.count} times (on ${tried})`, traceback: '' }
        : { type: 'WorkerDied', message: `the worker died ${exhausted.count === 2 ? 'twice' : `${exhausted.count} times`} while running it: ${lastError.message || 'it crashed'} (on ${tried})`, traceback: '' };
  return outputRecord(session, exhausted.index, entry, replica, exhausted.attempts, { ok: false, error, seconds: 0 });
}

/** Writes lines that all ran on `entry`'s device, and counts them. The run is then done with their items. */
export function writeLines(session: Session, records: OutputRecord[], entry: DeviceEntry): void {
  if (records.length === 0) return;
  session.journal.append(records);
  for (const record of records) {
    session.feed.settled(record.index);
    session.record.written(record);
    if (record.ok) entry.stats.done += 1;
    else {
      entry.stats.failed += 1;
      const reason = record.error?.type ?? 'error';
      session.stats.failuresByReason.set(reason, (session.stats.failuresByReason.get(reason) ?? 0) + 1);
    }
  }
  checkFailureLimit(session);
}
