/** --timeout: which replicas' running batches have run longer than their allowance (timeout per item x items). */
import type { BatchBook, ReplicaBook } from './books.js';

export interface Overdue {
  device: number;
  replica: number;
  batch: number;
  items: number;
}

export function overdueBatches(books: readonly ReplicaBook[], batches: ReadonlyMap<number, BatchBook>, now: number, timeoutMs: number): Overdue[] {
  const late: Overdue[] = [];
  for (const book of books) {
    const first = book.inFlight[0]; // only a ready replica holds batches: a lost one's are settled at once
    if (first === undefined) continue;
    const items = (batches.get(first) as BatchBook).items.length; // every batch in flight has its book
    if (now - book.headSince > timeoutMs * items) late.push({ device: book.device, replica: book.replica, batch: first, items });
  }
  return late;
}
