/** The scheduler's books: what each replica holds, and each batch handed out. */
import type { Pace } from './credit.js';

export type ReplicaState = 'starting' | 'ready' | 'down' | 'removed';

export interface ReplicaBook {
  device: number;
  replica: number;
  state: ReplicaState;
  /** Batch ids in the order sent: the first is running, the rest wait. */
  inFlight: number[];
  /** Items of those batches. */
  heldItems: number;
  /** When the running batch started (the batch became first), for timeouts. */
  headSince: number;
  /** How long its batches take, as it measures them (credit.ts); undefined before its first result. */
  pace?: Pace;
}

export interface BatchBook {
  owner: ReplicaBook;
  items: number[];
  /** A batch of one suspect item: its replica holds nothing else meanwhile. */
  exclusive: boolean;
  /** Asked back from its replica (not yet confirmed): not to be asked again. */
  takingBack: boolean;
}
