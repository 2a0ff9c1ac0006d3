import { describe, expect, it } from 'vitest';
import { Scheduler } from '../../src/scheduler/scheduler.js';

function drain(scheduler: Scheduler): number[] {
  const seen: number[] = [];
  for (;;) {
    const assignments = scheduler.assign();
    if (assignments.length === 0) break;
    for (const a of assignments) {
      seen.push(...(scheduler.complete(a.batch, a.device, a.replica) ?? []));
    }
  }
  return seen;
}

describe('Scheduler', () => {
  it('hands out nothing until a replica is ready', () => {
    const scheduler = new Scheduler(10, { batchSize: 4, prefetch: 2 });
    scheduler.addReplica(0, 0);
    expect(scheduler.assign()).toEqual([]);
    scheduler.markReady(0, 0);
    expect(scheduler.assign().map((a) => a.items)).toEqual([[0, 1, 2, 3], [4, 5, 6, 7]]);
  });

  it('never gives a replica more than prefetch batches', () => {
    const scheduler = new Scheduler(100, { batchSize: 4, prefetch: 2 });
    scheduler.addReplica(0, 0);
    scheduler.markReady(0, 0);
    expect(scheduler.assign()).toHaveLength(2);
    expect(scheduler.assign()).toHaveLength(0);
    expect(scheduler.inFlightCount(0, 0)).toBe(8);
  });

  it('spreads the first batches over every ready replica, round-robin', () => {
    const scheduler = new Scheduler(100, { batchSize: 2, prefetch: 2 });
    for (const [d, r] of [[0, 0], [0, 1], [1, 0]] as const) {
      scheduler.addReplica(d, r);
      scheduler.markReady(d, r);
    }
    const owners = scheduler.assign().map((a) => `${a.device}/${a.replica}`);
    expect(owners).toEqual(['0/0', '0/1', '1/0', '0/0', '0/1', '1/0']);
  });

  it('gives each item exactly once when batches complete', () => {
    const scheduler = new Scheduler(103, { batchSize: 8, prefetch: 3 });
    scheduler.addReplica(0, 0);
    scheduler.addReplica(1, 0);
    scheduler.markReady(0, 0);
    scheduler.markReady(1, 0);
    const seen = drain(scheduler);
    expect(seen.sort((a, b) => a - b)).toEqual(Array.from({ length: 103 }, (_, i) => i));
    expect(scheduler.isDone).toBe(true);
    expect(scheduler.finished).toBe(103);
  });

  it('a faster replica gets more batches, because it frees credit sooner', () => {
    const scheduler = new Scheduler(400, { batchSize: 4, prefetch: 1 });
    scheduler.addReplica(0, 0);
    scheduler.addReplica(1, 0);
    scheduler.markReady(0, 0);
    scheduler.markReady(1, 0);
    const done = { 0: 0, 1: 0 } as Record<number, number>;
    const held = new Map<number, { batch: number; replica: number; items: number[]; left: number }>();
    // Simulated time: device 0 needs 3 ticks per batch, device 1 needs 1.
    while (!scheduler.isDone) {
      for (const a of scheduler.assign()) held.set(a.device, { batch: a.batch, replica: a.replica, items: a.items, left: a.device === 0 ? 3 : 1 });
      for (const [device, batch] of [...held]) {
        batch.left -= 1;
        if (batch.left === 0) {
          done[device] = (done[device] ?? 0) + (scheduler.complete(batch.batch, device, batch.replica)?.length ?? 0);
          held.delete(device);
        }
      }
    }
    expect((done[1] ?? 0) / 400).toBeGreaterThan(0.7);
    expect((done[1] ?? 0) / 400).toBeLessThan(0.8);
  });

  it('drops a completion from a replica that does not hold the batch', () => {
    const scheduler = new Scheduler(8, { batchSize: 4, prefetch: 1 });
    scheduler.addReplica(0, 0);
    scheduler.addReplica(0, 1);
    scheduler.markReady(0, 0);
    const [a] = scheduler.assign();
    expect(scheduler.complete(a!.batch, 0, 1)).toBeUndefined();
    expect(scheduler.complete(12345, 0, 0)).toBeUndefined();
    expect(scheduler.complete(a!.batch, 0, 0)).toEqual([0, 1, 2, 3]);
    expect(scheduler.complete(a!.batch, 0, 0)).toBeUndefined(); // twice is once
    expect(scheduler.finished).toBe(4);
  });

  it('puts a lost replica\'s in-flight items back at the front of the queue', () => {
    const scheduler = new Scheduler(20, { batchSize: 4, prefetch: 2 });
    scheduler.addReplica(0, 0);
    scheduler.addReplica(1, 0);
    scheduler.markReady(0, 0);
    const first = scheduler.assign();
    expect(first.flatMap((a) => a.items)).toEqual([0, 1, 2, 3, 4, 5, 6, 7]);
    expect(scheduler.replicaGone(0, 0)).toEqual([0, 1, 2, 3, 4, 5, 6, 7]);
    expect(scheduler.liveReplicas).toBe(1);
    expect(scheduler.complete(first[0]!.batch, 0, 0)).toBeUndefined(); // a late result of the lost replica
    scheduler.markReady(1, 0);
    expect(scheduler.assign()[0]).toMatchObject({ device: 1, items: [0, 1, 2, 3] });
    expect(scheduler.replicaGone(0, 0)).toEqual([]); // gone once
  });

  it('starts from a given subset of items', () => {
    const scheduler = new Scheduler(3, { batchSize: 10, prefetch: 1 }, [5, 9, 11]);
    scheduler.addReplica(0, 0);
    scheduler.markReady(0, 0);
    expect(scheduler.assign()[0]?.items).toEqual([5, 9, 11]);
  });
});
