/** The scheduler's books: what each replica holds, and each batch handed out. */

export type ReplicaState = 'starting' | 'ready' | 'down' | 'removed';

export interface ReplicaBook {
  device: number;
  replica: number;
  state: ReplicaState;
  /** Batch ids in the order sent: the first is running, the rest wait. */
  inFlight: number[];
  /** When the running batch started (the batch became first), for timeouts. */
  headSince: number;
}

export interface BatchBook {
  owner: ReplicaBook;
  items: number[];
  /** A batch of one suspect item: its replica holds nothing else meanwhile. */
  exclusive: boolean;
  /** Asked back from its replica (not yet confirmed): not to be asked again. */
  takingBack: boolean;
}
