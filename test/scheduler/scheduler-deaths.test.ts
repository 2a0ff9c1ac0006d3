/** A replica that dies, is killed from outside, or leaves with its device: what its items become. */
import { describe, expect, it } from 'vitest';
import { MAX_DEATHS_PER_ITEM, MAX_KILLS_PER_ITEM } from '../../src/scheduler/retry-policy.js';
import { done, drain, owners, readyScheduler, restart, written } from './helpers.js';

describe('Scheduler: a replica that dies', () => {
  it('retries the running batch alone and exclusively; waiting batches go back unpunished', () => {
    const scheduler = readyScheduler(20, { batchSize: 4, prefetch: 2 }, [[0, 0]]);
    scheduler.addReplica(1, 0); // device 1 is still loading its model
    const first = scheduler.assign(0);
    expect(first.map((a) => a.items)).toEqual([[0, 1, 2, 3], [4, 5, 6, 7]]);
    expect(scheduler.replicaLost(0, 0, 'died')).toEqual({ requeued: 8, exhausted: [] });
    expect(done(scheduler, first[0]!)).toBeUndefined(); // a late result of the dead replica
    // The suspects (the running batch) come back one at a time, alone on their replica.
    scheduler.markReady(1, 0);
    for (const suspect of [0, 1, 2, 3]) {
      const next = scheduler.assign(0);
      expect(owners(next)).toEqual([`1/0: ${suspect}`]); // nothing beside a suspect
      expect(written(done(scheduler, next[0]!))).toEqual([{ index: suspect, attempts: 2 }]);
    }
    const waiting = scheduler.assign(0);
    expect(waiting.map((a) => a.items)).toEqual([[4, 5, 6, 7], [8, 9, 10, 11]]); // the waiting batch goes back first, in its order
    expect(written(done(scheduler, waiting[0]!))).toEqual([4, 5, 6, 7].map((index) => ({ index, attempts: 1 }))); // it never ran
  });

  it('a suspect waits for a replica with nothing in flight; a busy one gets fresh work meanwhile', () => {
    const scheduler = readyScheduler(100, { batchSize: 4, prefetch: 2 }, [[0, 0], [0, 1]]);
    const first = scheduler.assign(0);
    expect(owners(first)).toEqual(['0/0: 0,1,2,3', '0/1: 4,5,6,7', '0/0: 8,9,10,11', '0/1: 12,13,14,15']);
    scheduler.replicaLost(0, 0, 'died');
    done(scheduler, first[1]!); // 0/1 still runs 12..15, and has credit for one more
    const fresh = scheduler.assign(0);
    expect(owners(fresh)).toEqual(['0/1: 8,9,10,11']); // the dead replica's waiting batch, not a suspect
    done(scheduler, first[3]!);
    done(scheduler, fresh[0]!);
    expect(owners(scheduler.assign(0))).toEqual(['0/1: 0']); // idle now: a suspect, and nothing beside it
  });

  it(`an item in flight during ${MAX_DEATHS_PER_ITEM} deaths is given up on; the others finish`, () => {
    const scheduler = readyScheduler(6, { batchSize: 3, prefetch: 1 }, [[0, 0]]);
    expect(scheduler.assign(0).map((a) => a.items)).toEqual([[0, 1, 2]]);
    scheduler.replicaLost(0, 0, 'died');
    restart(scheduler, 0, 0);
    // Item 0 runs alone and kills its replica again.
    expect(scheduler.assign(0).map((a) => a.items)).toEqual([[0]]);
    const second = scheduler.replicaLost(0, 0, 'died');
    expect(second).toEqual({ requeued: 0, exhausted: [{ index: 0, cause: 'died', count: 2, devicesTried: [0], attempts: 2 }] });
    restart(scheduler, 0, 0);
    expect(drain(scheduler).sort()).toEqual([1, 2, 3, 4, 5]);
    expect(scheduler.isDone).toBe(true);
  });

  it(`an item whose replica was only ever SIGKILLed from outside is given up on after ${MAX_KILLS_PER_ITEM}`, () => {
    const scheduler = readyScheduler(1, { batchSize: 1, prefetch: 1 }, [[0, 0]]);
    const deaths: number[] = [];
    for (let kill = 1; kill <= MAX_KILLS_PER_ITEM; kill += 1) {
      restart(scheduler, 0, 0);
      expect(scheduler.assign(0).map((a) => a.items)).toEqual([[0]]);
      deaths.push(scheduler.replicaLost(0, 0, 'killed').exhausted.length);
    }
    expect(deaths).toEqual([0, 0, 1]);
  });

  it('a crash of its own after a kill counts as the second death', () => {
    const scheduler = readyScheduler(1, { batchSize: 1, prefetch: 1 }, [[0, 0]]);
    scheduler.assign(0);
    expect(scheduler.replicaLost(0, 0, 'killed').exhausted).toEqual([]);
    restart(scheduler, 0, 0);
    scheduler.assign(0);
    expect(scheduler.replicaLost(0, 0, 'died').exhausted).toEqual([{ index: 0, cause: 'died', count: 2, devicesTried: [0], attempts: 2 }]);
  });

  it('a loss reported twice (the replica, then its host) settles its work once', () => {
    const scheduler = readyScheduler(12, { batchSize: 4, prefetch: 2 }, [[0, 0]]);
    expect(scheduler.assign(0)).toHaveLength(2);
    expect(scheduler.replicaLost(0, 0, 'died')).toEqual({ requeued: 8, exhausted: [] });
    expect(scheduler.replicaLost(0, 0, 'killed')).toEqual({ requeued: 0, exhausted: [] });
    expect(scheduler.pendingCount).toBe(12);
  });

  it('an item that ran out of memory and was waiting on a replica that died comes back alone, its run not counted', () => {
    const scheduler = readyScheduler(20, { batchSize: 2, prefetch: 2, retries: 2 }, [[0, 0], [1, 0]]);
    const first = scheduler.assign(0);
    expect(owners(first)).toEqual(['0/0: 0,1', '1/0: 2,3', '0/0: 4,5', '1/0: 6,7']);
    done(scheduler, first[0]!, { oom: [0] }); // item 0 ran out of memory alone on device 0
    expect(owners(scheduler.assign(0))).toEqual(['0/0: 8,9']); // it waits for device 1
    done(scheduler, first[1]!);
    const retry = scheduler.assign(0);
    expect(owners(retry)).toEqual(['1/0: 0']); // behind 6,7: an out-of-memory item is no suspect
    scheduler.replicaLost(1, 0, 'died'); // 6,7 were running; item 0 never started
    restart(scheduler, 1, 0);
    const after = scheduler.assign(0);
    expect(owners(after)).toContainEqual('1/0: 0');
    expect(written(done(scheduler, after.find((a) => a.items.includes(0))!))).toEqual([{ index: 0, attempts: 2 }]);
  });
});

describe('Scheduler: a device taken out of the run', () => {
  it('gives its work to the others, blaming none of it', () => {
    const scheduler = readyScheduler(8, { batchSize: 4, prefetch: 1 }, [[0, 0], [1, 0]]);
    const [, onOne] = scheduler.assign(0);
    expect(scheduler.removeReplica(0, 0)).toEqual({ requeued: 4, exhausted: [] });
    expect(scheduler.liveReplicas).toBe(1);
    const first = written(done(scheduler, onOne!)).map((entry) => entry.index);
    const next = scheduler.assign(0);
    expect(owners(next)).toEqual(['1/0: 0,1,2,3']); // the removed replica's batch, first
    const rest = written(done(scheduler, next[0]!));
    expect(rest).toEqual([0, 1, 2, 3].map((index) => ({ index, attempts: 1 }))); // not blamed: first attempt still
    expect([...first, ...rest.map((entry) => entry.index), ...drain(scheduler)].sort()).toEqual([0, 1, 2, 3, 4, 5, 6, 7]);
    expect(scheduler.isDone).toBe(true);
  });

  it('a removed replica stays removed: a late loss or a second removal touches no other replica', () => {
    const scheduler = readyScheduler(100, { batchSize: 4, prefetch: 1 }, [[0, 0], [1, 0]]);
    scheduler.assign(0);
    scheduler.removeReplica(0, 0);
    expect(scheduler.replicaLost(0, 0, 'died')).toEqual({ requeued: 0, exhausted: [] });
    expect(scheduler.removeReplica(0, 0)).toEqual({ requeued: 0, exhausted: [] });
    restart(scheduler, 0, 0);
    expect(scheduler.liveReplicas).toBe(1);
    done(scheduler, { batch: 1, device: 1, replica: 0, items: [4, 5, 6, 7] });
    expect(owners(scheduler.assign(0))).toEqual(['1/0: 0,1,2,3']);
  });

  it('a suspect running on a removed device is not blamed for it, and still runs alone', () => {
    const scheduler = readyScheduler(20, { batchSize: 4, prefetch: 1 }, [[0, 0], [1, 0]]);
    const first = scheduler.assign(0);
    scheduler.replicaLost(0, 0, 'died'); // 0..3 become suspects
    done(scheduler, first[1]!);
    expect(owners(scheduler.assign(0))).toEqual(['1/0: 0']); // on a device it has not tried
    expect(scheduler.removeReplica(1, 0)).toEqual({ requeued: 1, exhausted: [] });
    restart(scheduler, 0, 0);
    const runs: string[] = [];
    for (let round = 0; round < 4; round += 1) {
      const [next] = scheduler.assign(0);
      runs.push(...owners([next!]));
      if (next!.items[0] === 0) expect(written(done(scheduler, next!))).toEqual([{ index: 0, attempts: 2 }]);
      else done(scheduler, next!);
    }
    expect(runs).toEqual(['0/0: 1', '0/0: 2', '0/0: 3', '0/0: 0']); // each alone
  });
});
