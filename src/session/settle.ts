/**
 * A batch's results (one entry of a `results` message, which may carry several): one scheduler
 * call settles every item (written, retried, or given up on) and the device's batch size; this
 * writes what it settled.
 */
import type { OutputRecord } from '../journal/journal.js';
import type { Outcome, ResultEntry } from '../transport/messages.js';
import { exhaustedRecord, outputRecord, writeLines } from './records.js';
import type { DeviceEntry, Session } from './state.js';

export function settleResult(session: Session, entry: DeviceEntry, replica: number, result: ResultEntry): void {
  const now = session.clock.now();
  const device = entry.device.index;
  const outOfMemory = result.outcomes.map((outcome) => !outcome.ok && outcome.oom === true);
  const settlement = session.scheduler.batchDone({ batch: result.batch, device, replica, outOfMemory, batchSizeHint: result.batch_size_hint, busySeconds: result.busy }, now);
  if (!settlement) {
    // A batch that was handed back (taken back, or its replica was given up on) and finished
    // elsewhere: drop it, so each item is written once. A batch id never issued is worth a warning.
    if (result.batch >= session.scheduler.issuedBatches) session.warnings.warn('forged', `ignored results for batch ${result.batch} from ${entry.device.label} replica ${replica}: no such batch was sent`);
    return;
  }
  session.restarts.progress(device, replica);
  session.growth.batchCompleted(device, replica, settlement.items.length, now);
  const records: OutputRecord[] = [];
  settlement.items.forEach((index, position) => {
    const verdict = settlement.verdicts[position];
    const outcome: Outcome = result.outcomes[position] ?? {
      ok: false,
      error: { type: 'ProtocolError', message: `the replica returned ${result.outcomes.length} outcomes for a batch of ${settlement.items.length}`, traceback: '' },
      seconds: 0,
    };
    if (verdict?.kind === 'write') records.push(outputRecord(session, index, entry, replica, verdict.attempts, outcome));
    else if (verdict?.kind === 'exhausted') records.push(exhaustedRecord(session, verdict.exhausted, entry, replica, outcome.ok ? { type: 'OutOfMemoryError', message: '', traceback: '' } : outcome.error));
    else entry.stats.retries += 1;
  });
  writeLines(session, records, entry);
  entry.stats.batchSize = settlement.batchSize.current;
  if (settlement.batchSize.adapted) entry.stats.note = `batch size lowered to ${settlement.batchSize.lowest} after out-of-memory (now ${settlement.batchSize.current})`;
  session.stats.firstResultAt ??= now;
}
