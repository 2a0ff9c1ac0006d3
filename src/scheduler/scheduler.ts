/**
 * The scheduler: pure bookkeeping of which item is where (as pytest-xdist's LoadScheduling is
 * for its session). No I/O and no timers: the session reports each event in one call, with the
 * time when time matters, and acts on the answer. Retries are src/scheduler/retry-policy.ts's.
 *
 * Credit: a replica holds at most `prefetch` batches (one running, the rest waiting), more when
 * its batches take microseconds (credit.ts), and work goes to whichever replica has free credit,
 * so a fast device simply asks more often.
 *
 * The end of a run: no replica idles while work it could do waits elsewhere. Batches are at most
 * an equal share of what is left per live replica (guided self-scheduling), so the last ones
 * shrink; once the fresh items would fit in what the ready replicas may prefetch, a replica gets
 * work only when it holds none; and a batch waiting unstarted behind another replica's running
 * one is taken back for a replica that has nothing (take-back.ts).
 */
import { DeviceBatchSizes } from './batch-size.js';
import { creditOf, measure } from './credit.js';
import type { BatchBook, ReplicaBook } from './books.js';
import { chooseTakeBacks, waitingTakeBacks, type TakeBack } from './take-back.js';
import { overdueBatches, type Overdue } from './timeouts.js';
import { WorkQueue } from './work-queue.js';
import { afterLoss, afterOutOfMemory, cameBack, ItemHistories, mayRetryOn, type Exhausted, type LossCause } from './retry-policy.js';
import type { Assignment, BatchDone, ItemVerdict, LostWork, SchedulerOptions, Settlement } from './settlement.js';

type LossOrRemoval = LossCause | 'removed'; // removed: its device left the run; nothing it held is to blame

export class Scheduler {
  private readonly queue: WorkQueue;
  private readonly replicas = new Map<string, ReplicaBook>();
  private readonly batches = new Map<number, BatchBook>();
  private readonly history = new ItemHistories();
  private readonly batchSizes: DeviceBatchSizes;
  private nextBatch = 0;
  private finishedCount = 0;
  /** Items the run has to settle so far: every fresh item offered. */
  private offeredCount: number;
  /** Replicas in the order work is offered to them: round-robin, so the first batches spread out. */
  private readonly order: ReplicaBook[] = [];

  /**
   * `total`: a run whose items are all known (0..total-1, or `items`). Undefined: the items are
   * offered as the inputs are read (offer, expect, endOfInput), and the run is done once the
   * input ended and every item offered is settled.
   */
  constructor(
    total: number | undefined,
    private readonly options: SchedulerOptions,
    items?: Iterable<number>,
  ) {
    this.queue = new WorkQueue(total === undefined ? undefined : (items ?? Array.from({ length: total }, (_, index) => index)));
    this.offeredCount = total ?? 0;
    this.batchSizes = new DeviceBatchSizes(options.batchSize);
  }

  /** Fresh items read from the inputs, in input order. */
  offer(items: readonly number[]): void {
    this.queue.add(items);
    this.offeredCount += items.length;
  }

  /** A count of the inputs says this many more will be offered: batch sizes and the end game plan with it. */
  expect(count: number): void {
    this.queue.expect(count);
  }

  endOfInput(): void {
    this.queue.end();
  }

  /** Fresh items queued, not yet handed out: what the inputs were read ahead by. */
  get freshQueued(): number {
    return this.queue.freshCount;
  }

  addReplica(device: number, replica: number): void {
    const book: ReplicaBook = { device, replica, state: 'starting', inFlight: [], heldItems: 0, headSince: 0 };
    this.replicas.set(`${device}/${replica}`, book);
    this.order.push(book);
  }

  private book(device: number, replica: number): ReplicaBook | undefined {
    return this.replicas.get(`${device}/${replica}`);
  }

  markReady(device: number, replica: number): void {
    const book = this.book(device, replica);
    if (book && book.state === 'starting') book.state = 'ready';
  }

  /** A replica that was down starts again. */
  markStarting(device: number, replica: number): void {
    const book = this.book(device, replica);
    if (book && book.state === 'down') book.state = 'starting';
  }

  get pendingCount(): number {
    return this.queue.size;
  }

  get isDone(): boolean {
    return this.queue.inputEnded && this.finishedCount >= this.offeredCount;
  }

  /** Items of the run: known once the input ended (or counted: see expect), else undefined. */
  get total(): number | undefined {
    return this.queue.inputEnded ? this.offeredCount : undefined;
  }

  /** Batch ids below this were handed out at some time; a result for a higher one is forged. */
  get issuedBatches(): number {
    return this.nextBatch;
  }

  get inFlightItems(): number {
    return [...this.batches.values()].reduce((sum, batch) => sum + batch.items.length, 0);
  }

  /** Replicas that are starting or ready, or down but to be restarted: those that may still work. */
  get liveReplicas(): number {
    return this.order.length;
  }

  /** Hand out batches to every ready replica with free credit, one batch per replica per round. */
  assign(now: number): Assignment[] {
    const assignments: Assignment[] = [];
    const ready = this.order.filter((book) => book.state === 'ready').length;
    let gaveAny = true;
    while (gaveAny && this.pendingCount > 0) {
      gaveAny = false;
      for (const book of this.order) {
        if (this.pendingCount === 0) break;
        if (book.state !== 'ready' || book.inFlight.length >= creditOf(this.options.prefetch, book.pace)) continue;
        if (book.inFlight.length > 0 && this.inEndGame(book.device, ready)) continue;
        const first = book.inFlight[0];
        // Stryker disable next-line OptionalChaining: every batch in flight has its book, so the ?. never meets undefined
        if (first !== undefined && this.batches.get(first)?.exclusive) continue;
        if (book.inFlight.length >= this.options.prefetch && !this.withinShare(book, ready)) continue;
        const picked = this.pickFor(book, ready);
        if (!picked) continue;
        const batch = this.nextBatch++;
        this.batches.set(batch, { owner: book, items: picked.items, exclusive: picked.exclusive, takingBack: false });
        if (book.inFlight.length === 0) book.headSince = now;
        book.inFlight.push(batch);
        book.heldItems += picked.items.length;
        assignments.push({ batch, device: book.device, replica: book.replica, items: picked.items });
        gaveAny = true;
      }
    }
    return assignments;
  }

  private pickFor(book: ReplicaBook, ready: number): { items: number[]; exclusive: boolean } | undefined {
    const live = new Set(this.order.map((other) => other.device));
    const retried = this.queue.takeRetry((index) => mayRetryOn(this.history.of(index), book.device, book.inFlight.length > 0, live));
    if (retried !== undefined) {
      const entry = this.history.of(retried);
      entry.dispatches += 1;
      return { items: [retried], exclusive: entry.isolate };
    }
    if (this.queue.freshCount === 0) return undefined;
    // Guided self-scheduling: at most an equal share of what is left per live replica (those
    // still starting too), so the last batches shrink and spread over every replica. What is
    // left counts items not yet read; a batch is then what is queued, up to that size.
    const size = Math.min(this.batchSizes.current(book.device), Math.ceil(this.queue.freshLeft / Math.max(ready, this.order.length)));
    return { items: this.queue.takeFresh(size), exclusive: false };
  }

  /**
   * Beyond --prefetch (credit for fast batches), a replica holds no more than an equal share of
   * what is left per live replica, as a guided batch is: a small run still spreads over every replica.
   */
  private withinShare(book: ReplicaBook, ready: number): boolean {
    return book.heldItems < Math.ceil(this.queue.freshLeft / Math.max(ready, this.order.length));
  }

  /** Are there so few fresh items left that prefetching would leave some replica without work? */
  private inEndGame(device: number, readyReplicas: number): boolean {
    return this.queue.freshLeft < readyReplicas * this.options.prefetch * this.batchSizes.current(device);
  }

  /**
   * A batch's results arrived: settle every item and adapt the device's batch size. Returns
   * undefined when the batch is unknown or belongs to another replica (a stale or forged
   * report): the caller drops it, so each item is written once.
   */
  batchDone(done: BatchDone, now: number): Settlement | undefined {
    const entry = this.batches.get(done.batch);
    if (!entry || entry.owner.device !== done.device || entry.owner.replica !== done.replica) return undefined;
    const book = entry.owner;
    if (done.busySeconds !== undefined) book.pace = measure(book.pace, done.busySeconds);
    this.batches.delete(done.batch);
    const position = book.inFlight.indexOf(done.batch);
    book.inFlight.splice(position, 1);
    book.heldItems -= entry.items.length;
    if (position === 0) book.headSince = now; // the next batch starts running now
    const verdicts = entry.items.map((index, at): ItemVerdict => {
      if (!done.outOfMemory[at]) {
        this.finishedCount += 1;
        const attempts = this.history.get(index)?.dispatches ?? 1;
        this.history.forget(index);
        return { kind: 'write', attempts };
      }
      const verdict = afterOutOfMemory(index, this.history.of(index), done.device, this.options.retries);
      if (verdict === 'retry') {
        this.queue.retry(index);
        return { kind: 'retry' };
      }
      this.finishedCount += 1;
      this.history.forget(index);
      return { kind: 'exhausted', exhausted: verdict };
    });
    const sizes = this.batchSizes.of(done.device);
    if (done.batchSizeHint) sizes.outOfMemory(done.batchSizeHint);
    else if (!done.outOfMemory.some(Boolean) && !entry.exclusive) sizes.succeeded();
    return { items: entry.items, verdicts, batchSize: { current: sizes.current, lowest: sizes.lowest, adapted: sizes.adapted } };
  }

  /**
   * A replica is gone: it died, or it ran past its timeout and was killed. The running batch's
   * items are retried alone, or given up on (returned); the rest goes back unpunished: batches
   * waiting, and batches that finished but whose results were not sent yet (a replica sends
   * several at once). Which batch was running: `running`, when the replica's host read its
   * marker (null: none was); undefined when nobody could tell (a timeout, a host's death): the
   * first in flight, since a replica sends a finished batch's result before another batch has
   * run long (results.py).
   */
  replicaLost(device: number, replica: number, cause: LossOrRemoval, running?: number | null): LostWork {
    const book = this.book(device, replica);
    if (!book || book.state === 'down' || book.state === 'removed') return { requeued: 0, exhausted: [] };
    book.state = 'down';
    const exhausted: Exhausted[] = [];
    let requeued = 0;
    const unpunished: number[] = [];
    const blamed = running === undefined ? book.inFlight[0] : running;
    book.inFlight.forEach((batch) => {
      const entry = this.batches.get(batch) as BatchBook; // every batch in flight has its book
      this.batches.delete(batch);
      if (batch !== blamed || cause === 'removed') {
        unpunished.push(...entry.items); // not running, or not to blame
        requeued += entry.items.length;
        return;
      }
      for (const index of entry.items) {
        const verdict = afterLoss(index, this.history.of(index), device, cause, this.options.retries);
        if (verdict === 'retry') {
          this.queue.retry(index);
          requeued += 1;
        } else {
          this.finishedCount += 1;
          this.history.forget(index);
          exhausted.push(verdict);
        }
      }
    });
    book.inFlight = [];
    book.heldItems = 0;
    this.returnUnstarted(unpunished);
    return { requeued, exhausted };
  }

  /** Items handed out that never started: those that had come back before to the retry queue, the rest first in line. */
  private returnUnstarted(items: number[]): void {
    const fresh = items.filter((index) => {
      const history = this.history.get(index);
      // Stryker disable next-line LogicalOperator: an item has a history only once it came back (or was given up on, and is never sent again), so || answers as && does
      if (!history || !cameBack(history)) return true;
      history.dispatches -= 1;
      this.queue.retry(index);
      return false;
    });
    this.queue.returnFresh(fresh);
  }

  /**
   * Waiting batches to ask back for the replicas that hold nothing (see take-back.ts). Called
   * right after assign(): a ready replica still idle then may take nothing that is queued (only
   * retries meant for other devices are left), so it is asked for even while the queue is not empty.
   */
  takeBacks(): TakeBack[] {
    return this.queue.inputEnded ? chooseTakeBacks(this.order, this.batches) : [];
  }

  /** The run drains: every batch waiting behind a running one, to ask back (take-back.ts). */
  drainTakeBacks(): TakeBack[] {
    return waitingTakeBacks(this.order, this.batches);
  }

  /** The replica confirmed it gave the batch back unstarted: its items go first in line again. */
  batchTakenBack(batch: number, device: number, replica: number, now: number): boolean {
    const entry = this.batches.get(batch);
    if (!entry || entry.owner.device !== device || entry.owner.replica !== replica) return false;
    this.batches.delete(batch);
    const position = entry.owner.inFlight.indexOf(batch);
    entry.owner.inFlight.splice(position, 1);
    entry.owner.heldItems -= entry.items.length;
    if (position === 0) entry.owner.headSince = now; // its running batch ended meanwhile: the next starts now
    this.returnUnstarted(entry.items);
    return true;
  }

  /** A replica will not come back (its device is out of the run): what it held goes back unpunished. */
  removeReplica(device: number, replica: number): LostWork {
    const book = this.book(device, replica);
    if (!book || book.state === 'removed') return { requeued: 0, exhausted: [] };
    const lost = this.replicaLost(device, replica, 'removed');
    book.state = 'removed';
    this.order.splice(this.order.indexOf(book), 1);
    return lost;
  }

  /** Replicas whose running batch has run longer than its allowance (timeout per item x items). */
  overdue(now: number, timeoutMs: number): Overdue[] {
    return overdueBatches(this.order, this.batches, now, timeoutMs);
  }
}
