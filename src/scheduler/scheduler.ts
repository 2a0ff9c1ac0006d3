/**
 * The scheduler: pure bookkeeping of which item is where. No I/O and no timers; run.ts tells it
 * what happened and acts on what it returns (as pytest-xdist's LoadScheduling does for its session).
 *
 * Credit-based: a replica holds at most `prefetch` batches (one running, the rest waiting), and
 * work goes to whichever replica has free credit. A fast device frees credit sooner and so
 * simply asks more often: no static slices, no stragglers.
 */

export type ReplicaId = string;

export function replicaId(device: number, replica: number): ReplicaId {
  return `${device}/${replica}`;
}

export interface Assignment {
  batch: number;
  device: number;
  replica: number;
  /** Indices into the run's item list. */
  items: number[];
}

type ReplicaState = 'starting' | 'ready' | 'gone';

interface ReplicaBook {
  device: number;
  replica: number;
  state: ReplicaState;
  /** batch id -> item indices */
  inFlight: Map<number, number[]>;
}

export interface SchedulerOptions {
  batchSize: number;
  prefetch: number;
}

export class Scheduler {
  private readonly pending: number[] = [];
  /** pending[head..] is the queue: shifting an array is O(n), moving a cursor is not. */
  private head = 0;
  private readonly replicas = new Map<ReplicaId, ReplicaBook>();
  private readonly batchOwner = new Map<number, ReplicaId>();
  private readonly deviceBatchSize = new Map<number, number>();
  private nextBatch = 0;
  private finishedCount = 0;
  /** Replicas in the order work is offered to them: round-robin, so the first batches spread out. */
  private order: ReplicaBook[] = [];

  constructor(
    readonly total: number,
    private readonly options: SchedulerOptions,
    items: Iterable<number> = Array.from({ length: total }, (_, index) => index),
  ) {
    for (const index of items) this.pending.push(index);
  }

  addReplica(device: number, replica: number): void {
    const book: ReplicaBook = { device, replica, state: 'starting', inFlight: new Map() };
    this.replicas.set(replicaId(device, replica), book);
    this.order.push(book);
  }

  markReady(device: number, replica: number): void {
    const book = this.replicas.get(replicaId(device, replica));
    if (book && book.state === 'starting') book.state = 'ready';
  }

  batchSizeFor(device: number): number {
    return this.deviceBatchSize.get(device) ?? this.options.batchSize;
  }

  get pendingCount(): number {
    return this.pending.length - this.head;
  }

  get finished(): number {
    return this.finishedCount;
  }

  get isDone(): boolean {
    return this.finishedCount >= this.total;
  }

  /** Replicas that are starting or ready: those that may still do work. */
  get liveReplicas(): number {
    let live = 0;
    for (const book of this.replicas.values()) if (book.state !== 'gone') live += 1;
    return live;
  }

  isLive(device: number, replica: number): boolean {
    const book = this.replicas.get(replicaId(device, replica));
    return book !== undefined && book.state !== 'gone';
  }

  inFlightCount(device: number, replica: number): number {
    const book = this.replicas.get(replicaId(device, replica));
    let count = 0;
    for (const items of book?.inFlight.values() ?? []) count += items.length;
    return count;
  }

  /** Hand out batches to every ready replica with free credit, one batch per replica per round. */
  assign(): Assignment[] {
    const assignments: Assignment[] = [];
    let gaveAny = true;
    while (gaveAny && this.pendingCount > 0) {
      gaveAny = false;
      for (const book of this.order) {
        if (this.pendingCount === 0) break;
        if (book.state !== 'ready' || book.inFlight.size >= this.options.prefetch) continue;
        const size = Math.min(this.batchSizeFor(book.device), this.pendingCount);
        const items = this.pending.slice(this.head, this.head + size);
        this.head += size;
        const batch = this.nextBatch++;
        book.inFlight.set(batch, items);
        this.batchOwner.set(batch, replicaId(book.device, book.replica));
        assignments.push({ batch, device: book.device, replica: book.replica, items });
        gaveAny = true;
      }
    }
    this.compact();
    return assignments;
  }

  /**
   * A batch's results arrived. Returns its item indices, or undefined when the batch is unknown
   * or belongs to another replica (a stale or forged report): the caller drops it.
   */
  complete(batch: number, device: number, replica: number): number[] | undefined {
    const owner = this.batchOwner.get(batch);
    if (owner !== replicaId(device, replica)) return undefined;
    const book = this.replicas.get(owner);
    const items = book?.inFlight.get(batch);
    if (!book || !items) return undefined;
    book.inFlight.delete(batch);
    this.batchOwner.delete(batch);
    this.finishedCount += items.length;
    return items;
  }

  /** A replica is gone (exited, failed setup): its in-flight items go back to the front of the queue. */
  replicaGone(device: number, replica: number): number[] {
    const book = this.replicas.get(replicaId(device, replica));
    if (!book || book.state === 'gone') return [];
    book.state = 'gone';
    const requeued: number[] = [];
    for (const [batch, items] of book.inFlight) {
      requeued.push(...items);
      this.batchOwner.delete(batch);
    }
    book.inFlight.clear();
    this.order = this.order.filter((entry) => entry !== book);
    this.pending.splice(this.head, 0, ...requeued);
    return requeued;
  }

  private compact(): void {
    // Drop the consumed prefix now and then so the queue's memory follows what is left.
    if (this.head > 65_536 && this.head * 2 > this.pending.length) {
      this.pending.splice(0, this.head);
      this.head = 0;
    }
  }
}
