/**
 * No replica idles while a batch that no replica has started waits anywhere. When a ready
 * replica holds nothing after assign() (nothing is queued that it may take), the batch waiting
 * last behind the longest queue is asked back from its replica; the replica gives it back only
 * if it has not started it (the session hands it out again once confirmed), so no item runs twice.
 */
import type { BatchBook, ReplicaBook } from './books.js';

export interface TakeBack {
  device: number;
  replica: number;
  batch: number;
}

/** `books`: the live replicas. Marks each chosen batch as being taken back. */
export function chooseTakeBacks(books: readonly ReplicaBook[], batches: ReadonlyMap<number, BatchBook>): TakeBack[] {
  const booked = (batch: number) => batches.get(batch) as BatchBook; // every batch in flight has its book
  const idle = books.filter((book) => book.state === 'ready' && book.inFlight.length === 0).length;
  const chosen: TakeBack[] = [];
  for (let round = 0; round < idle; round += 1) {
    let best: { book: ReplicaBook; batch: number; waiting: number } | undefined;
    for (const book of books) {
      // Only batches behind the running one: the first may have started.
      const waiting = book.inFlight.slice(1).filter((batch) => !booked(batch).takingBack);
      const last = waiting.at(-1);
      const items = waiting.reduce((sum, batch) => sum + booked(batch).items.length, 0);
      if (last !== undefined && (!best || items > best.waiting)) best = { book, batch: last, waiting: items };
    }
    if (!best) break;
    booked(best.batch).takingBack = true;
    chosen.push({ device: best.book.device, replica: best.book.replica, batch: best.batch });
  }
  return chosen;
}

/**
 * When the run drains (Ctrl-C, --max-failures): every batch waiting behind a replica's running
 * one is asked back. Its replica gives back those it has not started, so the drain waits only for
 * what is running, and their items are left for --resume instead of being run during the grace.
 */
export function waitingTakeBacks(books: readonly ReplicaBook[], batches: ReadonlyMap<number, BatchBook>): TakeBack[] {
  const chosen: TakeBack[] = [];
  for (const book of books) {
    for (const batch of book.inFlight.slice(1)) {
      const booked = batches.get(batch);
      if (!booked || booked.takingBack) continue;
      booked.takingBack = true;
      chosen.push({ device: book.device, replica: book.replica, batch });
    }
  }
  return chosen;
}
