/**
 * Scripted events for the scheduler, as the session reports them: replicas that join and become
 * ready, batches that complete (some items out of memory), replicas that are lost and restarted.
 */
import { Scheduler } from '../../src/scheduler/scheduler.js';
import type { Assignment, Settlement } from '../../src/scheduler/settlement.js';

export type Sent = Pick<Assignment, 'batch' | 'device' | 'replica'> & { items: number[] };

/**
 * The batch's results as its replica reports them. `oom`: positions that ran out of memory
 * alone; `hint`: the batch ran out of memory and was split, and this size then ran.
 */
export function done(scheduler: Scheduler, sent: Sent, options: { oom?: number[]; hint?: number; now?: number } = {}): Settlement | undefined {
  const outOfMemory = sent.items.map((_, position) => options.oom?.includes(position) ?? false);
  return scheduler.batchDone({ batch: sent.batch, device: sent.device, replica: sent.replica, outOfMemory, batchSizeHint: options.hint }, options.now ?? 0);
}

/** Items of a settlement that are written, with their attempts. */
export function written(settlement: Settlement | undefined): { index: number; attempts: number }[] {
  if (!settlement) return [];
  return settlement.items.flatMap((index, at) => {
    const verdict = settlement.verdicts[at];
    return verdict?.kind === 'write' ? [{ index, attempts: verdict.attempts }] : [];
  });
}

/** Completes every batch as soon as it is handed out, as a replica that never fails would. */
export function drain(scheduler: Scheduler): number[] {
  const seen: number[] = [];
  for (;;) {
    const assignments = scheduler.assign(0);
    if (assignments.length === 0) break;
    for (const a of assignments) seen.push(...written(done(scheduler, a)).map((entry) => entry.index));
  }
  return seen;
}

export function readyScheduler(total: number, options: { batchSize: number; prefetch: number; retries?: number }, replicas: [number, number][]): Scheduler {
  const scheduler = new Scheduler(total, { retries: 2, ...options });
  for (const [device, replica] of replicas) {
    scheduler.addReplica(device, replica);
    scheduler.markReady(device, replica);
  }
  return scheduler;
}

/** A lost replica is started again and says it is ready. */
export function restart(scheduler: Scheduler, device: number, replica: number): void {
  scheduler.markStarting(device, replica);
  scheduler.markReady(device, replica);
}

/** Who got which items, as `device/replica: items`, in the order handed out. */
export function owners(assignments: Assignment[]): string[] {
  return assignments.map((a) => `${a.device}/${a.replica}: ${a.items.join(',')}`);
}
