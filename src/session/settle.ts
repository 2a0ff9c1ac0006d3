/**
 * A batch's results: one scheduler call settles every item (written, retried, or given up on)
 * and the device's batch size; this writes what it settled.
 */
import type { OutputRecord } from '../journal/journal.js';
import type { Outcome, WorkerEvent } from '../transport/messages.js';
import { exhaustedRecord, outputRecord, writeLines } from './records.js';
import type { DeviceEntry, Session } from './state.js';

type ResultEvent = Extract<WorkerEvent, { kind: 'result' }>;

export function settleResult(session: Session, event: ResultEvent, entry: DeviceEntry): void {
  const now = session.clock.now();
  const outOfMemory = event.outcomes.map((outcome) => !outcome.ok && outcome.oom === true);
  const settlement = session.scheduler.batchDone({ batch: event.batch, device: event.device, replica: event.replica, outOfMemory, batchSizeHint: event.batch_size_hint }, now);
  if (!settlement) {
    // A batch that was handed back (its replica was given up on) and finished elsewhere: drop
    // it, so each item is written once. A batch id never issued is worth a warning.
    if (event.batch >= session.scheduler.issuedBatches) session.warnings.warn('forged', `ignored results for batch ${event.batch} from ${entry.device.label} replica ${event.replica}: no such batch was sent`);
    return;
  }
  session.restarts.progress(event.device, event.replica);
  session.growth.batchCompleted(event.device, event.replica, settlement.items.length, now);
  const records: OutputRecord[] = [];
  settlement.items.forEach((index, position) => {
    const verdict = settlement.verdicts[position];
    const outcome: Outcome = event.outcomes[position] ?? {
      ok: false,
      error: { type: 'ProtocolError', message: `the replica returned ${event.outcomes.length} outcomes for a batch of ${settlement.items.length}`, traceback: '' },
      seconds: 0,
    };
    if (verdict?.kind === 'write') records.push(outputRecord(session, index, entry, event.replica, verdict.attempts, outcome));
    else if (verdict?.kind === 'exhausted') records.push(exhaustedRecord(session, verdict.exhausted, entry, event.replica, outcome.ok ? { type: 'OutOfMemoryError', message: '', traceback: '' } : outcome.error));
    else entry.stats.retries += 1;
  });
  writeLines(session, records, entry);
  entry.stats.batchSize = settlement.batchSize.current;
  if (settlement.batchSize.adapted) entry.stats.note = `batch size lowered to ${settlement.batchSize.lowest} after out-of-memory (now ${settlement.batchSize.current})`;
  session.stats.firstResultAt ??= now;
}
