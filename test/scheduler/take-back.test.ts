/** Which waiting batch is asked back, for whom, and what its return does to the books. */
import { describe, expect, it } from 'vitest';
import type { BatchBook, ReplicaBook, ReplicaState } from '../../src/scheduler/books.js';
import { Scheduler } from '../../src/scheduler/scheduler.js';
import type { Assignment } from '../../src/scheduler/settlement.js';
import { chooseTakeBacks } from '../../src/scheduler/take-back.js';

/** Replicas holding batches of the given sizes (the first runs, the rest wait). */
function books(...replicas: [ReplicaState, number[]][]): { books: ReplicaBook[]; batches: Map<number, BatchBook> } {
  const batches = new Map<number, BatchBook>();
  let next = 0;
  const made = replicas.map(([state, sizes], replica) => {
    const book: ReplicaBook = { device: 0, replica, state, inFlight: [], heldItems: 0, headSince: 0 };
    for (const size of sizes) {
      batches.set(next, { owner: book, items: Array.from({ length: size }, () => 0), exclusive: false, takingBack: false });
      book.inFlight.push(next++);
      book.heldItems += size;
    }
    return book;
  });
  return { books: made, batches };
}

describe('choosing what to take back', () => {
  it('the last batch of the replica with the most items waiting; on a tie, the first replica', () => {
    const longest = books(['ready', [1, 1]], ['ready', [1, 1, 1]], ['ready', []]);
    expect(chooseTakeBacks(longest.books, longest.batches)).toEqual([{ device: 0, replica: 1, batch: 4 }]);
    const byItems = books(['ready', [1, 3]], ['ready', [1, 1, 1]], ['ready', []]); // 3 items wait on 0, 2 on 1
    expect(chooseTakeBacks(byItems.books, byItems.batches)).toEqual([{ device: 0, replica: 0, batch: 1 }]);
    const tie = books(['ready', [1, 2]], ['ready', [1, 2]], ['ready', []]);
    expect(chooseTakeBacks(tie.books, tie.batches)).toEqual([{ device: 0, replica: 0, batch: 1 }]);
  });

  it('one per idle ready replica, each batch asked once, never a running one', () => {
    const one = books(['ready', [1, 1, 1]], ['ready', []], ['starting', []]);
    expect(chooseTakeBacks(one.books, one.batches)).toEqual([{ device: 0, replica: 0, batch: 2 }]);
    expect(chooseTakeBacks(one.books, one.batches)).toEqual([{ device: 0, replica: 0, batch: 1 }]); // 2 is being taken back
    expect(chooseTakeBacks(one.books, one.batches)).toEqual([]); // only the running one is left
    const two = books(['ready', [1, 1, 1]], ['ready', []], ['ready', []]);
    expect(chooseTakeBacks(two.books, two.batches).map((take) => take.batch)).toEqual([2, 1]);
    const none = books(['ready', [1, 1]], ['starting', []]);
    expect(chooseTakeBacks(none.books, none.batches)).toEqual([]);
  });
});

function done(s: Scheduler, a: Assignment, now = 0, oom: number[] = []): number[] {
  const settled = s.batchDone({ ...a, outOfMemory: a.items.map((_, at) => oom.includes(at)) }, now);
  return (settled?.items ?? []).filter((_, at) => settled?.verdicts[at]?.kind === 'write');
}

/** One ready replica (0/0) with `prefetch` batches of one item, from a run of 50; 0/1 still starts. */
function oneReplicaHolding(prefetch: number): { s: Scheduler; held: Assignment[] } {
  const s = new Scheduler(50, { batchSize: 1, prefetch, retries: 2 });
  s.addReplica(0, 0);
  s.addReplica(0, 1);
  s.markReady(0, 0);
  return { s, held: s.assign(0) };
}

describe('a batch given back', () => {
  it('counts only from the replica that holds it', () => {
    const { s, held } = oneReplicaHolding(2);
    expect(s.batchTakenBack(held[1]?.batch ?? -1, 0, 1, 0)).toBe(false); // same device, another replica
    expect(s.batchTakenBack(held[1]?.batch ?? -1, 0, 0, 0)).toBe(true);
    expect(s.pendingCount).toBe(49);
  });

  it('leaves the running batch its clock; when the first is given back, the next one starts its clock then', () => {
    const { s, held } = oneReplicaHolding(4);
    const [b0, b1, b2, b3] = held;
    expect(s.batchTakenBack(b3?.batch ?? -1, 0, 0, 5_000)).toBe(true);
    expect(s.overdue(7_000, 1_000)).toEqual([{ device: 0, replica: 0, batch: b0?.batch, items: 1 }]); // running since 0
    done(s, b0!, 8_000); // b1 runs from 8 s ...
    expect(s.batchTakenBack(b1?.batch ?? -1, 0, 0, 8_500)).toBe(true); // ... but was given back: b2 runs from 8.5 s
    expect(s.overdue(9_400, 1_000)).toEqual([]);
    expect(s.overdue(9_600, 1_000)).toEqual([{ device: 0, replica: 0, batch: b2?.batch, items: 1 }]);
  });

  it('an item that had come back before returns once, to the retry queue', () => {
    const s = new Scheduler(20, { batchSize: 1, prefetch: 2, retries: 2 });
    for (const device of [0, 1]) {
      s.addReplica(device, 0);
      s.markReady(device, 0);
    }
    const first = s.assign(0);
    expect(done(s, first[0]!, 0, [0])).toEqual([]); // item 0 ran out of memory on device 0: it waits for device 1
    const open = [...first.slice(2), ...s.assign(0)];
    expect(done(s, first[1]!)).toEqual([1]);
    const behind = s.assign(0);
    expect(behind).toEqual([expect.objectContaining({ device: 1, items: [0] })]); // waiting behind device 1's running batch
    expect(s.batchTakenBack(behind[0]?.batch ?? -1, 1, 0, 0)).toBe(true);
    const written: number[] = [];
    for (const a of open) written.push(...done(s, a));
    for (let handed = s.assign(0); handed.length > 0; handed = s.assign(0)) for (const a of handed) written.push(...done(s, a));
    expect(written.filter((index) => index === 0)).toEqual([0]); // once
    expect(s.isDone).toBe(true);
  });
});
