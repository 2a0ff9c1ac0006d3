/**
 * What the scheduler is told and what it answers: one call per event (a batch's results, a
 * replica lost), each answered with everything the session must write or do about it.
 */
import type { Exhausted } from './retry-policy.js';

export interface SchedulerOptions {
  batchSize: number;
  prefetch: number;
  /** Further tries of an item after out-of-memory or timeout. */
  retries: number;
}

export interface Assignment {
  batch: number;
  device: number;
  replica: number;
  /** Indices into the run's item list. */
  items: number[];
}

/** A batch's results, as the scheduler needs to know them. */
export interface BatchDone {
  batch: number;
  device: number;
  replica: number;
  /** Per position in the batch: did that item run out of device memory alone? */
  outOfMemory: readonly boolean[];
  /** Set when the batch ran out of memory and was split: the largest size that then ran. */
  batchSizeHint?: number | null;
  /** Seconds the replica spent on the batch, as it measured them: its pace (credit.ts). */
  busySeconds?: number;
}

/** Per position: write the outcome as it came, run the item again, or write that it was given up on. */
export type ItemVerdict = { kind: 'write'; attempts: number } | { kind: 'retry' } | { kind: 'exhausted'; exhausted: Exhausted };

/** What a finished batch settles: every item's verdict, and the device's batch size from now on. */
export interface Settlement {
  /** The batch's item indices, in the order they were sent. */
  items: number[];
  verdicts: ItemVerdict[];
  batchSize: { current: number; lowest: number; adapted: boolean };
}

/** What a lost replica leaves: items put back in the queue, and items given up on. */
export interface LostWork {
  requeued: number;
  exhausted: Exhausted[];
}

