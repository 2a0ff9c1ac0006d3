/** Which items go where: credit-based dynamic scheduling, the end game, and replicas joining. */
import { describe, expect, it } from 'vitest';
import { Scheduler } from '../../src/scheduler/scheduler.js';
import { done, drain, owners, readyScheduler, restart, written } from './helpers.js';

describe('Scheduler: credit-based dynamic scheduling', () => {
  it('hands out nothing until a replica is ready', () => {
    const scheduler = new Scheduler(100, { batchSize: 4, prefetch: 2, retries: 2 });
    scheduler.addReplica(0, 0);
    expect(scheduler.assign(0)).toEqual([]);
    scheduler.markReady(0, 0);
    expect(scheduler.assign(0).map((a) => a.items)).toEqual([[0, 1, 2, 3], [4, 5, 6, 7]]);
  });

  it('never gives a replica more than prefetch batches', () => {
    const scheduler = readyScheduler(100, { batchSize: 4, prefetch: 2 }, [[0, 0]]);
    expect(scheduler.assign(0)).toHaveLength(2);
    expect(scheduler.assign(0)).toHaveLength(0);
    expect(scheduler.inFlightItems).toBe(8);
  });

  it('numbers batches 0, 1, 2... and counts them: a result for a higher number was never sent', () => {
    const scheduler = readyScheduler(100, { batchSize: 4, prefetch: 2 }, [[0, 0], [1, 0]]);
    expect(scheduler.issuedBatches).toBe(0);
    const first = scheduler.assign(0);
    expect(first.map((a) => a.batch)).toEqual([0, 1, 2, 3]);
    done(scheduler, first[0]!);
    expect(scheduler.assign(0).map((a) => a.batch)).toEqual([4]);
    expect(scheduler.issuedBatches).toBe(5);
  });

  it('spreads the first batches over every ready replica, round-robin', () => {
    const scheduler = readyScheduler(100, { batchSize: 2, prefetch: 2 }, [[0, 0], [0, 1], [1, 0]]);
    const order = scheduler.assign(0).map((a) => `${a.device}/${a.replica}`);
    expect(order).toEqual(['0/0', '0/1', '1/0', '0/0', '0/1', '1/0']);
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
    const finished = new Map<number, number>([[0, 0], [1, 0]]);
    const held = new Map<number, { batch: number; replica: number; items: number[]; left: number }>();
    // Simulated time: device 0 needs 3 ticks per batch, device 1 needs 1.
    while (!scheduler.isDone) {
      for (const a of scheduler.assign(0)) held.set(a.device, { ...a, left: a.device === 0 ? 3 : 1 });
      for (const [device, batch] of [...held]) {
        batch.left -= 1;
        if (batch.left > 0) continue;
        finished.set(device, (finished.get(device) ?? 0) + written(done(scheduler, { ...batch, device })).length);
        held.delete(device);
      }
    }
    expect(finished.get(1)! / 400).toBeGreaterThan(0.7);
    expect(finished.get(1)! / 400).toBeLessThan(0.8);
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

  it('starts from a given subset of items (--resume)', () => {
    const scheduler = new Scheduler(3, { batchSize: 10, prefetch: 1, retries: 2 }, [5, 9, 11]);
    scheduler.addReplica(0, 0);
    scheduler.markReady(0, 0);
    expect(scheduler.assign(0)[0]?.items).toEqual([5, 9, 11]);
  });
});

describe('Scheduler: the end game', () => {
  it('with little left, a replica that holds a batch gets no second one', () => {
    const scheduler = readyScheduler(10, { batchSize: 4, prefetch: 2 }, [[0, 0]]);
    expect(scheduler.assign(0).map((a) => a.items)).toEqual([[0, 1, 2, 3]]);
  });

  it('starts only when the fresh items no longer fill every replica\'s credit', () => {
    // After the first batch 8 are left = 1 replica x prefetch 2 x batch 4: a second batch still waits behind it.
    const scheduler = readyScheduler(12, { batchSize: 4, prefetch: 2 }, [[0, 0]]);
    expect(scheduler.assign(0).map((a) => a.items)).toEqual([[0, 1, 2, 3], [4, 5, 6, 7]]);
  });

  it('what is left is spread over every ready replica in smaller batches', () => {
    const replicas = Array.from({ length: 8 }, (_, device) => [device, 0] as [number, number]);
    const scheduler = readyScheduler(20, { batchSize: 8, prefetch: 2 }, replicas);
    const assignments = scheduler.assign(0);
    expect(assignments.map((a) => a.device).sort()).toEqual([0, 1, 2, 3, 4, 5, 6, 7]); // one each, no replica idle
    // Each batch is what is left over the ready replicas, rounded up: ceil(20/8), ceil(17/8), ...
    expect(assignments.map((a) => a.items.length)).toEqual([3, 3, 2, 2, 2, 1, 1, 1]);
    expect(scheduler.pendingCount).toBe(5); // for whichever replica finishes first
  });
});

describe('Scheduler: replicas that join, start and come back', () => {
  it('a replica that died gets no work on a late "ready" until it is started again', () => {
    const scheduler = readyScheduler(100, { batchSize: 4, prefetch: 1 }, [[0, 0]]);
    scheduler.assign(0);
    scheduler.replicaLost(0, 0, 'died');
    scheduler.markReady(0, 0); // the dead replica's ready message, delivered late
    expect(scheduler.assign(0)).toEqual([]);
    restart(scheduler, 0, 0);
    expect(owners(scheduler.assign(0))).toEqual(['0/0: 0']); // its suspect first, alone
  });

  it('marking a working replica as starting does not take it out of the rotation', () => {
    const scheduler = readyScheduler(100, { batchSize: 4, prefetch: 1 }, [[0, 0]]);
    const [first] = scheduler.assign(0);
    scheduler.markStarting(0, 0); // only a replica that is down starts again
    done(scheduler, first!);
    expect(owners(scheduler.assign(0))).toEqual(['0/0: 4,5,6,7']);
  });

  it('events for a slot that never had a replica change nothing (a host restart marks every slot)', () => {
    const scheduler = readyScheduler(8, { batchSize: 4, prefetch: 1 }, [[0, 0]]);
    scheduler.markStarting(0, 3);
    scheduler.markReady(0, 3);
    expect(scheduler.replicaLost(0, 3, 'died')).toEqual({ requeued: 0, exhausted: [] });
    expect(scheduler.removeReplica(0, 3)).toEqual({ requeued: 0, exhausted: [] });
    expect(scheduler.liveReplicas).toBe(1);
    expect(owners(scheduler.assign(0))).toEqual(['0/0: 0,1,2,3']);
  });

  it('a replica added during the run (auto) gets work once ready, and counts as live from the start', () => {
    const scheduler = readyScheduler(100, { batchSize: 4, prefetch: 1 }, [[0, 0]]);
    scheduler.assign(0);
    scheduler.addReplica(0, 1);
    expect(scheduler.liveReplicas).toBe(2);
    expect(scheduler.assign(0)).toEqual([]);
    scheduler.markReady(0, 1);
    expect(owners(scheduler.assign(0))).toEqual(['0/1: 4,5,6,7']);
  });
});
