/**
 * --timeout: a replica whose running batch outlives its allowance (timeout per item x items) is
 * reported, counted from when the batch started running, and its item given up on in the end.
 */
import { describe, expect, it } from 'vitest';
import { done, readyScheduler, restart } from './helpers.js';

const TIMEOUT_MS = 1_000; // per item

describe('Scheduler.overdue', () => {
  it('reports a replica whose running batch has run longer than timeout x items, and not a moment before', () => {
    const scheduler = readyScheduler(10, { batchSize: 2, prefetch: 2 }, [[0, 0]]);
    scheduler.assign(1_000);
    expect(scheduler.overdue(1_000 + 1_999, TIMEOUT_MS)).toEqual([]);
    expect(scheduler.overdue(1_000 + 2_000, TIMEOUT_MS)).toEqual([]); // exactly its allowance
    expect(scheduler.overdue(1_000 + 2_001, TIMEOUT_MS)).toEqual([{ device: 0, replica: 0, batch: 0, items: 2 }]);
  });

  it('leaves out replicas with nothing in flight, and a replica that is down', () => {
    const scheduler = readyScheduler(1, { batchSize: 1, prefetch: 1 }, [[0, 0], [1, 0], [2, 0]]);
    expect(scheduler.assign(0).map((a) => a.device)).toEqual([0]); // devices 1 and 2 stay idle
    expect(scheduler.overdue(5_000, TIMEOUT_MS)).toEqual([{ device: 0, replica: 0, batch: 0, items: 1 }]);
    scheduler.replicaLost(0, 0, 'timed out');
    expect(scheduler.overdue(10_000, TIMEOUT_MS)).toEqual([]);
  });

  it('a waiting batch\'s clock starts when the batch before it completes', () => {
    const scheduler = readyScheduler(100, { batchSize: 2, prefetch: 2 }, [[0, 0]]);
    const [running] = scheduler.assign(0);
    done(scheduler, running!, { now: 1_500 }); // batch 1 starts running at 1.5 s
    expect(scheduler.overdue(1_500 + 2_000, TIMEOUT_MS)).toEqual([]);
    expect(scheduler.overdue(1_500 + 2_001, TIMEOUT_MS)).toEqual([{ device: 0, replica: 0, batch: 1, items: 2 }]);
  });

  it('a batch sent to a busy replica does not restart the running batch\'s clock', () => {
    const scheduler = readyScheduler(100, { batchSize: 2, prefetch: 2 }, [[0, 0]]);
    const [running, waiting] = scheduler.assign(0);
    done(scheduler, running!, { now: 500 }); // batch 1 runs from 0.5 s
    expect(scheduler.assign(1_000).map((a) => a.batch)).toEqual([2]); // waits behind it
    expect(scheduler.overdue(2_501, TIMEOUT_MS)).toEqual([{ device: 0, replica: 0, batch: waiting!.batch, items: 2 }]);
  });

  it('a result for a waiting batch, out of order, does not restart the running batch\'s clock', () => {
    const scheduler = readyScheduler(100, { batchSize: 2, prefetch: 2 }, [[0, 0]]);
    const [running, waiting] = scheduler.assign(0);
    done(scheduler, waiting!, { now: 1_500 });
    expect(scheduler.overdue(2_001, TIMEOUT_MS)).toEqual([{ device: 0, replica: 0, batch: running!.batch, items: 2 }]);
  });

  it('a restarted replica\'s clock starts with its next batch', () => {
    const scheduler = readyScheduler(100, { batchSize: 2, prefetch: 1 }, [[0, 0]]);
    scheduler.assign(0);
    scheduler.replicaLost(0, 0, 'died');
    restart(scheduler, 0, 0);
    scheduler.assign(10_000);
    expect(scheduler.overdue(10_000 + 1_000, TIMEOUT_MS)).toEqual([]); // a suspect: one item
    expect(scheduler.overdue(10_000 + 1_001, TIMEOUT_MS)).toEqual([{ device: 0, replica: 0, batch: 1, items: 1 }]);
  });
});

describe('Scheduler: an item that times out', () => {
  it('is retried alone, and given up on once it has timed out 1 + retries times', () => {
    const scheduler = readyScheduler(3, { batchSize: 3, prefetch: 1, retries: 1 }, [[0, 0]]);
    scheduler.assign(0);
    expect(scheduler.replicaLost(0, 0, 'timed out')).toEqual({ requeued: 3, exhausted: [] });
    restart(scheduler, 0, 0);
    expect(scheduler.assign(0).map((a) => a.items)).toEqual([[0]]);
    expect(scheduler.replicaLost(0, 0, 'timed out').exhausted).toEqual([{ index: 0, cause: 'timed out', count: 2, devicesTried: [0], attempts: 2 }]);
    expect(scheduler.pendingCount).toBe(2);
  });
});
