/**
 * The scheduler: pure bookkeeping of which item is where, and the policies for items that come
 * back (what to retry, where, how often). No I/O and no timers: run.ts tells it what happened,
 * with the time when time matters, and acts on what it returns (as pytest-xdist's
 * LoadScheduling does for its session).
 *
 * Credit-based: a replica holds at most `prefetch` batches (one running, the rest waiting), and
 * work goes to whichever replica has free credit. A fast device frees credit sooner and so
 * simply asks more often: no static slices, no stragglers.
 *
 * Retry policy, per item:
 * - out of memory alone: handed back and retried alone, on a device it has not tried when one
 *   is live, until it has been tried 1 + retries times; then failed with the devices tried.
 * - in the running batch of a replica that died: retried alone and exclusively (nothing else in
 *   flight on that replica), so a second death names the item that causes it. Failed after two
 *   deaths when the process crashed by itself at least once (SIGSEGV, abort, an exit code): that
 *   is the item's doing. A SIGKILL comes from outside the process (the kernel's OOM killer, an
 *   operator, a preempting scheduler) and is weaker evidence: an item that only ever saw its
 *   replica SIGKILLed is failed after three, so random kills do not fail healthy items.
 * - in the running batch of a replica that timed out: retried alone; failed once it has timed
 *   out 1 + retries times.
 * Batches that were waiting behind the running one never started: they go back unpunished.
 *
 * End game: prefetch hides the round trip between batches, but near the end a batch waiting
 * behind a running one can keep its replica busy while another replica has nothing left (a
 * list sorted by size puts the largest items last). Once the fresh items would fit in what the
 * ready replicas may prefetch, a replica gets work only when it holds none, and batches shrink
 * to spread what is left over every ready replica (guided self-scheduling), so the devices
 * finish within about one item of each other.
 */
import { AdaptiveBatchSize } from './batch-size.js';

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

/** died: the process crashed by itself; killed: SIGKILL from outside; timed out: we killed it. */
export type LossCause = 'died' | 'killed' | 'timed out';
/** 'removed': the replica's device left the run; nothing it held is to blame. */
type LossOrRemoval = LossCause | 'removed';

/** An item the scheduler gave up on, and why (run.ts turns it into a failed output line). */
export interface Exhausted {
  index: number;
  cause: 'died' | 'timed out' | 'out of memory';
  /** How many times it suffered the cause. */
  count: number;
  devicesTried: number[];
}

type ReplicaState = 'starting' | 'ready' | 'down' | 'removed';

interface ReplicaBook {
  device: number;
  replica: number;
  state: ReplicaState;
  /** Batch ids in the order sent: the first is running, the rest wait. */
  inFlight: number[];
  /** When the running batch started (the batch became first), for timeouts. */
  headSince: number;
}

interface BatchBook {
  owner: ReplicaBook;
  items: number[];
  /** A batch of one suspect item: its replica holds nothing else meanwhile. */
  exclusive: boolean;
}

/** What an item has been through; kept only for items that came back at least once. */
interface ItemHistory {
  dispatches: number;
  /** Deaths of its replica while it ran, whether crashes or kills. */
  deaths: number;
  /** At least one of those deaths was a crash of the process's own doing. */
  crashed: boolean;
  timeouts: number;
  ooms: number;
  devicesTried: Set<number>;
  /** Run alone, with nothing else in flight on its replica. */
  isolate: boolean;
}

export interface SchedulerOptions {
  batchSize: number;
  prefetch: number;
  /** Further tries of an item after out-of-memory or timeout. */
  retries: number;
}

export const MAX_DEATHS_PER_ITEM = 2;
/** When every death was a SIGKILL from outside. */
export const MAX_KILLS_PER_ITEM = 3;

export class Scheduler {
  private readonly fresh: number[] = [];
  /** fresh[head..] is the queue: shifting an array is O(n), moving a cursor is not. */
  private head = 0;
  /** Items that came back: run alone, before fresh work. */
  private readonly retryQueue: number[] = [];
  private readonly replicas = new Map<ReplicaId, ReplicaBook>();
  private readonly batches = new Map<number, BatchBook>();
  private readonly history = new Map<number, ItemHistory>();
  private readonly batchSizes = new Map<number, AdaptiveBatchSize>();
  private nextBatch = 0;
  private finishedCount = 0;
  /** Replicas in the order work is offered to them: round-robin, so the first batches spread out. */
  private readonly order: ReplicaBook[] = [];

  constructor(
    readonly total: number,
    private readonly options: SchedulerOptions,
    items: Iterable<number> = Array.from({ length: total }, (_, index) => index),
  ) {
    for (const index of items) this.fresh.push(index);
  }

  addReplica(device: number, replica: number): void {
    const book: ReplicaBook = { device, replica, state: 'starting', inFlight: [], headSince: 0 };
    this.replicas.set(replicaId(device, replica), book);
    this.order.push(book);
    if (!this.batchSizes.has(device)) this.batchSizes.set(device, new AdaptiveBatchSize(this.options.batchSize));
  }

  private book(device: number, replica: number): ReplicaBook | undefined {
    return this.replicas.get(replicaId(device, replica));
  }

  markReady(device: number, replica: number): void {
    const book = this.book(device, replica);
    if (book && book.state === 'starting') book.state = 'ready';
  }

  /** A replica that was down is being started again. */
  markStarting(device: number, replica: number): void {
    const book = this.book(device, replica);
    if (book && book.state === 'down') book.state = 'starting';
  }

  batchSizeFor(device: number): number {
    return this.batchSizes.get(device)?.current ?? this.options.batchSize;
  }

  batchSizePolicy(device: number): AdaptiveBatchSize | undefined {
    return this.batchSizes.get(device);
  }

  get pendingCount(): number {
    return this.fresh.length - this.head + this.retryQueue.length;
  }

  get finished(): number {
    return this.finishedCount;
  }

  get isDone(): boolean {
    return this.finishedCount >= this.total;
  }

  /** Batch ids below this were handed out at some time; a result for a higher one is forged. */
  get issuedBatches(): number {
    return this.nextBatch;
  }

  get inFlightItems(): number {
    let count = 0;
    for (const batch of this.batches.values()) count += batch.items.length;
    return count;
  }

  isLive(device: number, replica: number): boolean {
    const state = this.book(device, replica)?.state;
    return state === 'starting' || state === 'ready';
  }

  /** Replicas that are starting or ready, or down but to be restarted: those that may still work. */
  get liveReplicas(): number {
    let live = 0;
    for (const book of this.replicas.values()) if (book.state !== 'removed') live += 1;
    return live;
  }

  liveDevices(): Set<number> {
    const devices = new Set<number>();
    for (const book of this.replicas.values()) if (book.state !== 'removed') devices.add(book.device);
    return devices;
  }

  inFlightCount(device: number, replica: number): number {
    const book = this.book(device, replica);
    return (book?.inFlight ?? []).reduce((sum, batch) => sum + (this.batches.get(batch)?.items.length ?? 0), 0);
  }

  /** How many times an item has been handed out (the output's "attempts"). */
  attempts(index: number): number {
    return this.history.get(index)?.dispatches ?? 1;
  }

  private historyOf(index: number): ItemHistory {
    let entry = this.history.get(index);
    if (!entry) {
      entry = { dispatches: 1, deaths: 0, crashed: false, timeouts: 0, ooms: 0, devicesTried: new Set(), isolate: false };
      this.history.set(index, entry);
    }
    return entry;
  }

  /** Hand out batches to every ready replica with free credit, one batch per replica per round. */
  assign(now = 0): Assignment[] {
    const assignments: Assignment[] = [];
    const ready = this.order.filter((book) => book.state === 'ready').length;
    let gaveAny = true;
    while (gaveAny && this.pendingCount > 0) {
      gaveAny = false;
      for (const book of this.order) {
        if (this.pendingCount === 0) break;
        if (book.state !== 'ready' || book.inFlight.length >= this.options.prefetch) continue;
        if (book.inFlight.length > 0 && this.inEndGame(book.device, ready)) continue;
        const first = book.inFlight[0];
        if (first !== undefined && this.batches.get(first)?.exclusive) continue;
        const picked = this.pickFor(book);
        if (!picked) continue;
        const batch = this.nextBatch++;
        this.batches.set(batch, { owner: book, items: picked.items, exclusive: picked.exclusive });
        if (book.inFlight.length === 0) book.headSince = now;
        book.inFlight.push(batch);
        assignments.push({ batch, device: book.device, replica: book.replica, items: picked.items });
        gaveAny = true;
      }
    }
    this.compact();
    return assignments;
  }

  private pickFor(book: ReplicaBook): { items: number[]; exclusive: boolean } | undefined {
    const otherDevices = [...this.liveDevices()].filter((device) => device !== book.device);
    for (let position = 0; position < this.retryQueue.length; position += 1) {
      const index = this.retryQueue[position] as number;
      const entry = this.historyOf(index);
      if (entry.isolate && book.inFlight.length > 0) continue; // suspects run with nothing beside them
      // Prefer a device the item has not tried, while such a device is live.
      if (entry.devicesTried.has(book.device) && otherDevices.some((device) => !entry.devicesTried.has(device))) continue;
      this.retryQueue.splice(position, 1);
      entry.dispatches += 1;
      return { items: [index], exclusive: entry.isolate };
    }
    const available = this.fresh.length - this.head;
    if (available === 0) return undefined;
    const ready = this.order.filter((other) => other.state === 'ready').length;
    const full = this.batchSizeFor(book.device);
    const size = this.inEndGame(book.device, ready) ? Math.min(full, Math.ceil(available / ready)) : Math.min(full, available);
    const items = this.fresh.slice(this.head, this.head + size);
    this.head += size;
    return { items, exclusive: false };
  }

  /** Are there so few fresh items left that prefetching would leave some replica without work? */
  private inEndGame(device: number, readyReplicas: number): boolean {
    return this.fresh.length - this.head < readyReplicas * this.options.prefetch * this.batchSizeFor(device);
  }

  /**
   * A batch's results arrived. Returns its item indices, or undefined when the batch is unknown
   * or belongs to another replica (a stale or forged report): the caller drops it. The caller
   * then settles each item: finish() or handBack().
   */
  complete(batch: number, device: number, replica: number, now = 0, memory: { batchSizeHint?: number | null; itemOutOfMemory?: boolean } = {}): number[] | undefined {
    const entry = this.batches.get(batch);
    if (!entry || entry.owner.device !== device || entry.owner.replica !== replica) return undefined;
    const book = entry.owner;
    this.batches.delete(batch);
    const position = book.inFlight.indexOf(batch);
    if (position >= 0) book.inFlight.splice(position, 1);
    if (position === 0) book.headSince = now; // the next batch starts running now
    const sizes = this.batchSizes.get(device);
    if (memory.batchSizeHint) sizes?.outOfMemory(memory.batchSizeHint);
    else if (!memory.itemOutOfMemory && !entry.exclusive) sizes?.succeeded();
    return entry.items;
  }

  /** An item's line is written: ok, or failed for good. */
  finish(_index: number): void {
    this.finishedCount += 1;
  }

  /** An item ran out of memory alone on `device`: retry it (elsewhere if possible) or give up. */
  handBack(index: number, device: number): Exhausted | undefined {
    const entry = this.historyOf(index);
    entry.ooms += 1;
    entry.devicesTried.add(device);
    if (entry.dispatches >= 1 + this.options.retries) {
      this.finishedCount += 1;
      return { index, cause: 'out of memory', count: entry.ooms, devicesTried: [...entry.devicesTried] };
    }
    this.retryQueue.push(index);
    return undefined;
  }

  /**
   * A replica is gone: it died, or it ran past its timeout and was killed. The running batch's
   * items are retried alone, or given up on (returned); waiting batches go back unpunished.
   */
  replicaLost(device: number, replica: number, cause: LossOrRemoval): { requeued: number; exhausted: Exhausted[] } {
    const book = this.book(device, replica);
    if (!book || book.state === 'down' || book.state === 'removed') return { requeued: 0, exhausted: [] };
    book.state = 'down';
    const exhausted: Exhausted[] = [];
    let requeued = 0;
    const unpunished: number[] = [];
    book.inFlight.forEach((batch, position) => {
      const entry = this.batches.get(batch);
      this.batches.delete(batch);
      if (!entry) return;
      if (position > 0 || cause === 'removed') {
        // Never started (or not to blame). Items that had come back before return to the retry queue, others to fresh.
        for (const index of entry.items) {
          const history = this.history.get(index);
          if (history && (history.isolate || history.ooms > 0)) {
            history.dispatches -= 1;
            this.retryQueue.push(index);
          } else unpunished.push(index);
        }
        requeued += entry.items.length;
        return;
      }
      for (const index of entry.items) {
        const history = this.historyOf(index);
        history.devicesTried.add(device);
        const timedOut = cause === 'timed out';
        if (cause === 'died') history.crashed = true;
        const count = timedOut ? ++history.timeouts : ++history.deaths;
        const limit = timedOut ? 1 + this.options.retries : history.crashed ? MAX_DEATHS_PER_ITEM : MAX_KILLS_PER_ITEM;
        if (count >= limit) {
          this.finishedCount += 1;
          exhausted.push({ index, cause: timedOut ? 'timed out' : 'died', count, devicesTried: [...history.devicesTried] });
        } else {
          history.isolate = true;
          this.retryQueue.push(index);
          requeued += 1;
        }
      }
    });
    book.inFlight = [];
    this.fresh.splice(this.head, 0, ...unpunished);
    return { requeued, exhausted };
  }

  /** A replica will not come back (its device is out of the run). */
  removeReplica(device: number, replica: number): void {
    const book = this.book(device, replica);
    if (!book) return;
    if (book.state === 'starting' || book.state === 'ready') this.replicaLost(device, replica, 'removed');
    book.state = 'removed';
    const position = this.order.indexOf(book);
    if (position >= 0) this.order.splice(position, 1);
  }

  /** Replicas whose running batch has run longer than its allowance (timeout per item x items). */
  overdue(now: number, timeoutMs: number): { device: number; replica: number; batch: number; items: number }[] {
    const late: { device: number; replica: number; batch: number; items: number }[] = [];
    for (const book of this.order) {
      const first = book.inFlight[0];
      if (book.state !== 'ready' || first === undefined) continue;
      const items = this.batches.get(first)?.items.length ?? 0;
      if (now - book.headSince > timeoutMs * items) late.push({ device: book.device, replica: book.replica, batch: first, items });
    }
    return late;
  }

  private compact(): void {
    // Drop the consumed prefix now and then so the queue's memory follows what is left.
    if (this.head > 65_536 && this.head * 2 > this.fresh.length) {
      this.fresh.splice(0, this.head);
      this.head = 0;
    }
  }
}
