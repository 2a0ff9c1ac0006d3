/** Out of memory: where an item is retried, when it is given up on, and each device's batch size. */
import { describe, expect, it } from 'vitest';
import { INITIAL_GROW_AFTER } from '../../src/scheduler/batch-size.js';
import { done, owners, readyScheduler, written } from './helpers.js';

describe('Scheduler: an item that runs out of memory alone', () => {
  it('waits for a device it has not tried, while one is live', () => {
    const scheduler = readyScheduler(2, { batchSize: 1, prefetch: 1, retries: 2 }, [[0, 0], [1, 0]]);
    const [onZero, onOne] = scheduler.assign(0);
    expect(owners([onZero!])).toEqual(['0/0: 0']);
    expect(done(scheduler, onZero!, { oom: [0] })?.verdicts).toEqual([{ kind: 'retry' }]);
    // Device 0 is free, but item 0 waits for device 1, which is busy with item 1.
    expect(scheduler.assign(0)).toEqual([]);
    expect(written(done(scheduler, onOne!))).toEqual([{ index: 1, attempts: 1 }]);
    const retry = scheduler.assign(0);
    expect(owners(retry)).toEqual(['1/0: 0']);
    expect(written(done(scheduler, retry[0]!))).toEqual([{ index: 0, attempts: 2 }]);
    expect(scheduler.isDone).toBe(true);
  });

  it('takes the first free device it has not tried, though another untried one is busy', () => {
    const scheduler = readyScheduler(3, { batchSize: 1, prefetch: 1, retries: 2 }, [[0, 0], [1, 0], [2, 0]]);
    const [onZero, onOne] = scheduler.assign(0);
    done(scheduler, onZero!, { oom: [0] });
    done(scheduler, onOne!);
    expect(owners(scheduler.assign(0))).toEqual(['1/0: 0']);
  });

  it('runs again on a device it tried once every live device has been tried', () => {
    const scheduler = readyScheduler(1, { batchSize: 1, prefetch: 1, retries: 2 }, [[0, 0], [1, 0]]);
    const tries: string[] = [];
    const verdicts: string[] = [];
    for (let attempt = 0; attempt < 3; attempt += 1) {
      const sent = scheduler.assign(0);
      tries.push(...owners(sent));
      verdicts.push(done(scheduler, sent[0]!, { oom: [0] })!.verdicts[0]!.kind);
    }
    expect(tries).toEqual(['0/0: 0', '1/0: 0', '0/0: 0']);
    expect(verdicts).toEqual(['retry', 'retry', 'exhausted']);
  });

  it('gives up with the devices tried once the retries are spent', () => {
    const scheduler = readyScheduler(1, { batchSize: 1, prefetch: 1, retries: 1 }, [[0, 0], [1, 0]]);
    const [first] = scheduler.assign(0);
    expect(done(scheduler, first!, { oom: [0] })?.verdicts).toEqual([{ kind: 'retry' }]);
    expect(scheduler.isDone).toBe(false);
    const [second] = scheduler.assign(0);
    expect(second!.device).toBe(1); // elsewhere
    const settlement = done(scheduler, second!, { oom: [0] });
    expect(settlement?.verdicts).toEqual([{ kind: 'exhausted', exhausted: { index: 0, cause: 'out of memory', count: 2, devicesTried: [0, 1], attempts: 2 } }]);
    expect(scheduler.isDone).toBe(true);
  });

  it('the rest of its batch is written; only the item that ran out of memory comes back', () => {
    const scheduler = readyScheduler(3, { batchSize: 3, prefetch: 1 }, [[0, 0]]);
    const [sent] = scheduler.assign(0);
    const settlement = done(scheduler, sent!, { oom: [1] });
    expect(settlement?.verdicts).toEqual([{ kind: 'write', attempts: 1 }, { kind: 'retry' }, { kind: 'write', attempts: 1 }]);
    expect(scheduler.pendingCount).toBe(1);
    expect(owners(scheduler.assign(0))).toEqual(['0/0: 1']);
  });
});

describe('Scheduler: a device\'s batch size', () => {
  /** Sends and completes the next batch of replica 0/0; returns its size and the size reported after it. */
  function runBatch(scheduler: ReturnType<typeof readyScheduler>, options: { oom?: number[]; hint?: number } = {}): [number, number] {
    const [sent] = scheduler.assign(0);
    return [sent!.items.length, done(scheduler, sent!, options)!.batchSize.current];
  }

  it('stays at --batch-size, not adapted, while nothing runs out of memory', () => {
    const scheduler = readyScheduler(100, { batchSize: 16, prefetch: 1 }, [[0, 0]]);
    const [sent] = scheduler.assign(0);
    expect(done(scheduler, sent!)?.batchSize).toEqual({ current: 16, lowest: 16, adapted: false });
  });

  it('shrinks to the size that ran after out-of-memory, then doubles after a streak of good batches', () => {
    const scheduler = readyScheduler(10_000, { batchSize: 16, prefetch: 1 }, [[0, 0]]);
    const [sent] = scheduler.assign(0);
    expect(sent!.items).toHaveLength(16);
    expect(done(scheduler, sent!, { hint: 4 })?.batchSize).toEqual({ current: 4, lowest: 4, adapted: true });
    const sizes = Array.from({ length: INITIAL_GROW_AFTER }, () => runBatch(scheduler));
    expect(sizes.slice(0, -1).every(([sentSize, after]) => sentSize === 4 && after === 4)).toBe(true);
    expect(sizes.at(-1)).toEqual([4, 8]);
    expect(runBatch(scheduler)[0]).toBe(8);
  });

  it('a batch in which an item ran out of memory alone does not count toward growing back', () => {
    const scheduler = readyScheduler(10_000, { batchSize: 16, prefetch: 1 }, [[0, 0]]);
    scheduler.addReplica(1, 0); // still loading: the item that runs out of memory waits for it
    runBatch(scheduler, { hint: 4 });
    for (let good = 1; good < INITIAL_GROW_AFTER; good += 1) runBatch(scheduler);
    expect(runBatch(scheduler, { oom: [2] })).toEqual([4, 4]);
    expect(runBatch(scheduler)).toEqual([4, 8]);
  });

  it('a suspect run alone does not count toward growing back: one item says nothing about a full batch', () => {
    const scheduler = readyScheduler(10_000, { batchSize: 16, prefetch: 1 }, [[0, 0], [0, 1]]);
    const [onZero] = scheduler.assign(0);
    done(scheduler, onZero!, { hint: 4 });
    scheduler.replicaLost(0, 1, 'died'); // its 16 items become suspects, run alone on 0/0
    const suspects = Array.from({ length: 16 }, () => runBatch(scheduler));
    expect(suspects.every(([sentSize, after]) => sentSize === 1 && after === 4)).toBe(true);
    for (let good = 1; good < INITIAL_GROW_AFTER; good += 1) expect(runBatch(scheduler)).toEqual([4, 4]);
    expect(runBatch(scheduler)).toEqual([4, 8]);
  });

  it('each device adapts on its own', () => {
    const scheduler = readyScheduler(100, { batchSize: 16, prefetch: 1 }, [[0, 0], [1, 0]]);
    const [onZero, onOne] = scheduler.assign(0);
    expect(done(scheduler, onZero!, { hint: 2 })?.batchSize.current).toBe(2);
    expect(done(scheduler, onOne!)?.batchSize).toEqual({ current: 16, lowest: 16, adapted: false });
    expect(scheduler.assign(0).map((a) => [a.device, a.items.length])).toEqual([[0, 2], [1, 16]]);
  });
});
