import { describe, expect, it } from 'vitest';
import { MAX_DEATHS_PER_ITEM, MAX_KILLS_PER_ITEM } from '../../src/scheduler/retry-policy.js';
import { Scheduler, type Assignment, type Settlement } from '../../src/scheduler/scheduler.js';

/** The batch's results as a replica reports them; `oom`: positions that ran out of memory alone. */
function done(scheduler: Scheduler, a: Pick<Assignment, 'batch' | 'device' | 'replica'>, options: { size?: number; oom?: number[]; hint?: number; now?: number } = {}): Settlement | undefined {
  const outOfMemory = Array.from({ length: options.size ?? 64 }, (_, position) => options.oom?.includes(position) ?? false);
  return scheduler.batchDone({ ...a, outOfMemory, batchSizeHint: options.hint }, options.now ?? 0);
}

/** Items of a settlement that are written, with their attempts. */
function written(settlement: Settlement | undefined): { index: number; attempts: number }[] {
  if (!settlement) return [];
  return settlement.items.flatMap((index, at) => {
    const verdict = settlement.verdicts[at];
    return verdict?.kind === 'write' ? [{ index, attempts: verdict.attempts }] : [];
  });
}

/** Completes every batch as soon as it is handed out, as a replica that never fails would. */
function drain(scheduler: Scheduler): number[] {
  const seen: number[] = [];
  for (;;) {
    const assignments = scheduler.assign(0);
    if (assignments.length === 0) break;
    for (const a of assignments) seen.push(...written(done(scheduler, a)).map((entry) => entry.index));
  }
  return seen;
}

function readyScheduler(total: number, options: { batchSize: number; prefetch: number; retries?: number }, replicas: [number, number][]): Scheduler {
  const scheduler = new Scheduler(total, { retries: 2, ...options });
  for (const [device, replica] of replicas) {
    scheduler.addReplica(device, replica);
    scheduler.markReady(device, replica);
  }
  return scheduler;
}

describe('Scheduler: credit-based dynamic scheduling', () => {
  it('hands out nothing until a replica is ready', () => {
    const scheduler = new Scheduler(100, { batchSize: 4, prefetch: 2, retries: 2 });
    scheduler.addReplica(0, 0);
    expect(scheduler.assign(0)).toEqual([]);
    scheduler.markReady(0, 0);
    expect(scheduler.assign(0).map((a) => a.items)).toEqual([[0, 1, 2, 3], [4, 5, 6, 7]]);
  });

  it('end game: with little left, a replica that holds a batch gets no second one', () => {
    const scheduler = readyScheduler(10, { batchSize: 4, prefetch: 2 }, [[0, 0]]);
    expect(scheduler.assign(0).map((a) => a.items)).toEqual([[0, 1, 2, 3]]);
  });

  it('end game: what is left is spread over every ready replica in smaller batches', () => {
    const replicas = Array.from({ length: 8 }, (_, device) => [device, 0] as [number, number]);
    const scheduler = readyScheduler(20, { batchSize: 8, prefetch: 2 }, replicas);
    const assignments = scheduler.assign(0);
    expect(assignments.map((a) => a.device).sort()).toEqual([0, 1, 2, 3, 4, 5, 6, 7]); // one each, no replica idle
    expect(Math.max(...assignments.map((a) => a.items.length))).toBe(3); // ceil(20 / 8), not 8
    expect(scheduler.pendingCount).toBe(20 - assignments.reduce((sum, a) => sum + a.items.length, 0));
  });

  it('never gives a replica more than prefetch batches', () => {
    const scheduler = readyScheduler(100, { batchSize: 4, prefetch: 2 }, [[0, 0]]);
    expect(scheduler.assign(0)).toHaveLength(2);
    expect(scheduler.assign(0)).toHaveLength(0);
    expect(scheduler.inFlightItems).toBe(8);
  });

  it('spreads the first batches over every ready replica, round-robin', () => {
    const scheduler = readyScheduler(100, { batchSize: 2, prefetch: 2 }, [[0, 0], [0, 1], [1, 0]]);
    const owners = scheduler.assign(0).map((a) => `${a.device}/${a.replica}`);
    expect(owners).toEqual(['0/0', '0/1', '1/0', '0/0', '0/1', '1/0']);
  });

  it('gives each item exactly once when batches complete', () => {
    const scheduler = readyScheduler(103, { batchSize: 8, prefetch: 3 }, [[0, 0], [1, 0]]);
    const seen = drain(scheduler);
    expect(seen.sort((a, b) => a - b)).toEqual(Array.from({ length: 103 }, (_, i) => i));
    expect(scheduler.isDone).toBe(true);
    expect(scheduler.pendingCount).toBe(0);
    expect(scheduler.inFlightItems).toBe(0);
  });

  it('a faster replica gets more batches, because it frees credit sooner', () => {
    const scheduler = readyScheduler(400, { batchSize: 4, prefetch: 1 }, [[0, 0], [1, 0]]);
    const finished = { 0: 0, 1: 0 } as Record<number, number>;
    const held = new Map<number, { batch: number; replica: number; left: number }>();
    // Simulated time: device 0 needs 3 ticks per batch, device 1 needs 1.
    while (!scheduler.isDone) {
      for (const a of scheduler.assign(0)) held.set(a.device, { batch: a.batch, replica: a.replica, left: a.device === 0 ? 3 : 1 });
      for (const [device, batch] of [...held]) {
        batch.left -= 1;
        if (batch.left === 0) {
          const items = written(done(scheduler, { batch: batch.batch, device, replica: batch.replica }));
          finished[device] = (finished[device] ?? 0) + items.length;
          held.delete(device);
        }
      }
    }
    expect((finished[1] ?? 0) / 400).toBeGreaterThan(0.7);
    expect((finished[1] ?? 0) / 400).toBeLessThan(0.8);
  });

  it('drops a completion from a replica that does not hold the batch, and a second one', () => {
    const scheduler = readyScheduler(8, { batchSize: 4, prefetch: 1 }, [[0, 0]]);
    scheduler.addReplica(0, 1);
    const [a] = scheduler.assign(0);
    expect(done(scheduler, { ...a!, replica: 1 })).toBeUndefined();
    expect(done(scheduler, { ...a!, batch: 12345 })).toBeUndefined();
    expect(done(scheduler, { ...a!, device: 1 })).toBeUndefined();
    expect(written(done(scheduler, a!)).map((entry) => entry.index)).toEqual([0, 1, 2, 3]);
    expect(done(scheduler, a!)).toBeUndefined(); // twice is once
  });

  it('starts from a given subset of items', () => {
    const scheduler = new Scheduler(3, { batchSize: 10, prefetch: 1, retries: 2 }, [5, 9, 11]);
    scheduler.addReplica(0, 0);
    scheduler.markReady(0, 0);
    expect(scheduler.assign(0)[0]?.items).toEqual([5, 9, 11]);
  });
});

describe('Scheduler: a replica that dies', () => {
  it('retries the running batch alone and exclusively; waiting batches go back unpunished', () => {
    const scheduler = readyScheduler(20, { batchSize: 4, prefetch: 2 }, [[0, 0]]);
    scheduler.addReplica(1, 0); // device 1 is still loading its model
    const first = scheduler.assign(0);
    expect(first.map((a) => a.items)).toEqual([[0, 1, 2, 3], [4, 5, 6, 7]]);
    const lost = scheduler.replicaLost(0, 0, 'died');
    expect(lost).toEqual({ requeued: 8, exhausted: [] });
    expect(done(scheduler, first[0]!)).toBeUndefined(); // a late result of the dead replica
    // The suspects (the running batch) come back one at a time, alone on their replica.
    scheduler.markReady(1, 0);
    const next = scheduler.assign(0);
    expect(next[0]).toMatchObject({ device: 1, items: [0] });
    expect(next).toHaveLength(1); // nothing beside a suspect
    expect(written(done(scheduler, next[0]!))).toEqual([{ index: 0, attempts: 2 }]);
    const after = scheduler.assign(0);
    expect(after[0]).toMatchObject({ device: 1, items: [1] }); // the next suspect, alone again
    expect(written(done(scheduler, after[0]!))).toEqual([{ index: 1, attempts: 2 }]);
    const rest = scheduler.assign(0);
    expect(rest.map((a) => a.items.length)).toEqual([1]);
    expect(written(done(scheduler, rest[0]!))).toEqual([{ index: 2, attempts: 2 }]);
    const last = scheduler.assign(0);
    expect(last.map((a) => a.items)).toEqual([[3]]);
    expect(written(done(scheduler, last[0]!))).toEqual([{ index: 3, attempts: 2 }]);
    const waiting = scheduler.assign(0);
    expect(waiting.map((a) => a.items)).toEqual([[4, 5, 6, 7], [8, 9, 10, 11]]); // the waiting batch goes back first, in its order
    expect(written(done(scheduler, waiting[0]!))).toEqual([4, 5, 6, 7].map((index) => ({ index, attempts: 1 }))); // it never ran
  });

  it(`an item in flight during ${MAX_DEATHS_PER_ITEM} deaths is given up on; the others finish`, () => {
    const scheduler = readyScheduler(6, { batchSize: 3, prefetch: 1 }, [[0, 0]]);
    const [batch] = scheduler.assign(0);
    expect(batch!.items).toEqual([0, 1, 2]);
    scheduler.replicaLost(0, 0, 'died');
    scheduler.markStarting(0, 0);
    scheduler.markReady(0, 0);
    // Item 0 runs alone and kills its replica again.
    expect(scheduler.assign(0).map((a) => a.items)).toEqual([[0]]);
    const second = scheduler.replicaLost(0, 0, 'died');
    expect(second.exhausted).toEqual([{ index: 0, cause: 'died', count: 2, devicesTried: [0], attempts: 2 }]);
    scheduler.markStarting(0, 0);
    scheduler.markReady(0, 0);
    expect(drain(scheduler).sort()).toEqual([1, 2, 3, 4, 5]);
    expect(scheduler.isDone).toBe(true);
  });

  it(`an item whose replica was only ever SIGKILLed from outside is given up on after ${MAX_KILLS_PER_ITEM}`, () => {
    const scheduler = readyScheduler(1, { batchSize: 1, prefetch: 1 }, [[0, 0]]);
    const deaths: number[] = [];
    for (let kill = 1; kill <= MAX_KILLS_PER_ITEM; kill += 1) {
      scheduler.markStarting(0, 0);
      scheduler.markReady(0, 0);
      expect(scheduler.assign(0).map((a) => a.items)).toEqual([[0]]);
      deaths.push(scheduler.replicaLost(0, 0, 'killed').exhausted.length);
    }
    expect(deaths).toEqual([0, 0, 1]);
  });

  it('a crash of its own after a kill counts as the second death', () => {
    const scheduler = readyScheduler(1, { batchSize: 1, prefetch: 1 }, [[0, 0]]);
    scheduler.assign(0);
    expect(scheduler.replicaLost(0, 0, 'killed').exhausted).toEqual([]);
    scheduler.markStarting(0, 0);
    scheduler.markReady(0, 0);
    scheduler.assign(0);
    expect(scheduler.replicaLost(0, 0, 'died').exhausted).toEqual([{ index: 0, cause: 'died', count: 2, devicesTried: [0], attempts: 2 }]);
  });

  it('a removed device gives its work to the others, blaming none of it', () => {
    const scheduler = readyScheduler(8, { batchSize: 4, prefetch: 1 }, [[0, 0], [1, 0]]);
    const [, onOne] = scheduler.assign(0);
    expect(scheduler.removeReplica(0, 0)).toEqual({ requeued: 4, exhausted: [] });
    expect(scheduler.liveReplicas).toBe(1);
    const first = written(done(scheduler, onOne!)).map((entry) => entry.index);
    const next = scheduler.assign(0);
    expect(next).toEqual([expect.objectContaining({ device: 1, items: [0, 1, 2, 3] })]); // the removed replica's batch, first
    const rest = written(done(scheduler, next[0]!));
    expect(rest).toEqual([0, 1, 2, 3].map((index) => ({ index, attempts: 1 }))); // not blamed: first attempt still
    expect([...first, ...rest.map((entry) => entry.index), ...drain(scheduler)].sort()).toEqual([0, 1, 2, 3, 4, 5, 6, 7]);
    expect(scheduler.isDone).toBe(true);
    expect(scheduler.removeReplica(0, 0)).toEqual({ requeued: 0, exhausted: [] }); // twice is once
    expect(scheduler.liveReplicas).toBe(1);
  });
});

describe('Scheduler: out of memory and timeouts', () => {
  it('an item that ran out of memory alone waits for a device it has not tried, while one is live', () => {
    const scheduler = readyScheduler(2, { batchSize: 1, prefetch: 1, retries: 2 }, [[0, 0], [1, 0]]);
    const [onZero, onOne] = scheduler.assign(0);
    expect(onZero).toMatchObject({ device: 0, items: [0] });
    expect(done(scheduler, onZero!, { oom: [0] })?.verdicts).toEqual([{ kind: 'retry' }]);
    // Device 0 is free, but item 0 waits for device 1, which is busy with item 1.
    expect(scheduler.assign(0)).toEqual([]);
    expect(written(done(scheduler, onOne!))).toEqual([{ index: 1, attempts: 1 }]);
    const retry = scheduler.assign(0);
    expect(retry).toEqual([expect.objectContaining({ device: 1, items: [0] })]);
    expect(written(done(scheduler, retry[0]!))).toEqual([{ index: 0, attempts: 2 }]);
    expect(scheduler.isDone).toBe(true);
  });

  it('gives up with the devices tried once the retries are spent', () => {
    const scheduler = readyScheduler(1, { batchSize: 1, prefetch: 1, retries: 1 }, [[0, 0], [1, 0]]);
    const [first] = scheduler.assign(0);
    expect(done(scheduler, first!, { oom: [0] })?.verdicts).toEqual([{ kind: 'retry' }]);
    expect(scheduler.isDone).toBe(false);
    const [second] = scheduler.assign(0);
    expect(second!.device).not.toBe(first!.device); // elsewhere
    const verdict = done(scheduler, second!, { oom: [0] })?.verdicts[0];
    expect(verdict).toMatchObject({ kind: 'exhausted', exhausted: { index: 0, cause: 'out of memory', count: 2, attempts: 2 } });
    expect(verdict?.kind === 'exhausted' && new Set(verdict.exhausted.devicesTried)).toEqual(new Set([0, 1]));
    expect(scheduler.isDone).toBe(true);
  });

  it('shrinks a device\'s batches to the size that ran after out-of-memory', () => {
    const scheduler = readyScheduler(100, { batchSize: 16, prefetch: 1 }, [[0, 0]]);
    const [a] = scheduler.assign(0);
    expect(a!.items).toHaveLength(16);
    expect(done(scheduler, a!, { hint: 4 })?.batchSize).toEqual({ current: 4, lowest: 4, adapted: true });
    expect(scheduler.assign(0)[0]!.items).toHaveLength(4);
  });

  it('reports a replica whose running batch has outlived its allowance (timeout x items)', () => {
    const scheduler = readyScheduler(10, { batchSize: 2, prefetch: 2 }, [[0, 0]]);
    scheduler.assign(1_000);
    expect(scheduler.overdue(1_000 + 3_999, 2_000)).toEqual([]);
    expect(scheduler.overdue(1_000 + 4_001, 2_000)).toEqual([{ device: 0, replica: 0, batch: 0, items: 2 }]);
  });

  it('an item that times out 1 + retries times is given up on', () => {
    const scheduler = readyScheduler(1, { batchSize: 1, prefetch: 1, retries: 1 }, [[0, 0]]);
    scheduler.assign(0);
    expect(scheduler.replicaLost(0, 0, 'timed out').exhausted).toEqual([]);
    scheduler.markStarting(0, 0);
    scheduler.markReady(0, 0);
    scheduler.assign(0);
    expect(scheduler.replicaLost(0, 0, 'timed out').exhausted).toEqual([{ index: 0, cause: 'timed out', count: 2, devicesTried: [0], attempts: 2 }]);
    expect(scheduler.isDone).toBe(true);
  });
});
