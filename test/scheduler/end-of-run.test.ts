/**
 * The end of a run: batches shrink to a share of what is left per live replica, and a batch
 * waiting unstarted behind another replica's running one is taken back for a replica with none.
 */
import { describe, expect, it } from 'vitest';
import { Scheduler } from '../../src/scheduler/scheduler.js';
import type { Assignment } from '../../src/scheduler/settlement.js';

function scheduler(total: number, batchSize: number, prefetch: number, replicas: [number, number][], ready = replicas): Scheduler {
  const made = new Scheduler(total, { batchSize, prefetch, retries: 2 });
  for (const [device, replica] of replicas) made.addReplica(device, replica);
  for (const [device, replica] of ready) made.markReady(device, replica);
  return made;
}

function finish(s: Scheduler, a: Assignment): number[] {
  const settled = s.batchDone({ ...a, outOfMemory: a.items.map(() => false) }, 0);
  return settled?.items ?? [];
}

describe('guided batch sizes', () => {
  it('the first replica ready takes an equal share of a small run, not a full batch', () => {
    // 12 heavy items, batch 8, two devices: the first replica up must not take 8 of them.
    const s = scheduler(12, 8, 2, [[0, 0], [1, 0]], [[0, 0]]);
    expect(s.assign(0).map((a) => a.items)).toEqual([[0, 1, 2, 3, 4, 5]]);
    s.markReady(1, 0);
    expect(s.assign(0).map((a) => [a.device, a.items.length])).toEqual([[1, 3]]); // half of the 6 left
  });

  it('a large run keeps full batches until its tail', () => {
    const s = scheduler(1000, 16, 2, [[0, 0], [1, 0]]);
    const sizes: number[] = [];
    for (;;) {
      const handed = s.assign(0);
      if (handed.length === 0) break;
      for (const a of handed) {
        sizes.push(a.items.length);
        finish(s, a);
      }
    }
    expect(sizes.slice(0, 58).every((size) => size === 16)).toBe(true); // 928 items in full batches
    expect(sizes.reduce((sum, size) => sum + size, 0)).toBe(1000);
    expect(sizes.at(-1)).toBe(1);
    expect(s.isDone).toBe(true);
  });
});

describe('taking back a waiting batch', () => {
  it('asks nothing back while no replica is idle', () => {
    const s = scheduler(100, 4, 2, [[0, 0], [1, 0]]);
    s.assign(0);
    expect(s.takeBacks()).toEqual([]); // work waits in the queue, and every replica has some
    const all = scheduler(8, 4, 2, [[0, 0], [1, 0]]);
    all.assign(0);
    expect(all.takeBacks()).toEqual([]); // every replica holds work
  });

  /**
   * 16 items, batch 4, prefetch 2; replica 0 is ready first and takes [0-3] (running) and [4-7]
   * (waiting); replica 1 then does [8-11], [12, 13], [14] and [15] and is left with nothing.
   */
  function idleBesideAWaitingBatch({ dieOnLast = false } = {}): { s: Scheduler; running: Assignment; waiting: Assignment } {
    const s = scheduler(16, 4, 2, [[0, 0], [1, 0]], [[0, 0]]);
    const [running, waiting] = s.assign(0);
    s.markReady(1, 0);
    const sizes: number[] = [];
    for (let handed = s.assign(0); handed.length > 0; handed = s.assign(0)) {
      expect(handed.map((a) => a.device)).toEqual([1]);
      expect(s.takeBacks()).toEqual([]); // replica 1 is busy
      if (dieOnLast && s.pendingCount === 0) {
        s.replicaLost(1, 0, 'died');
        s.markStarting(1, 0);
        s.markReady(1, 0);
        break;
      }
      sizes.push(finish(s, handed[0]!).length);
    }
    expect(sizes).toEqual(dieOnLast ? [4, 2, 1] : [4, 2, 1, 1]);
    expect(s.assign(0)).toEqual([]);
    return { s, running: running!, waiting: waiting! };
  }

  it('an idle replica gets the batch waiting behind another replica\'s running one, asked once', () => {
    const { s, running, waiting } = idleBesideAWaitingBatch();
    expect(s.takeBacks()).toEqual([{ device: 0, replica: 0, batch: waiting.batch }]);
    expect(s.takeBacks()).toEqual([]); // not asked twice, and the running batch never
    expect(s.batchTakenBack(waiting.batch, 0, 0, 0)).toBe(true);
    const again = s.assign(0);
    expect(again).toEqual([expect.objectContaining({ device: 1, items: [4, 5] })]); // a share of what is left
    expect(s.assign(0)).toEqual([]);
    expect(s.takeBacks()).toEqual([]); // what waits is in the queue, for replica 1 to ask for
    finish(s, again[0]!);
    expect(s.assign(0)).toEqual([expect.objectContaining({ device: 1, items: [6] })]); // and [7] after it
    finish(s, running);
    expect(s.isDone).toBe(false);
  });

  it('a batch that started anyway settles as usual; a confirmation that comes late or from elsewhere is ignored', () => {
    const { s, running, waiting } = idleBesideAWaitingBatch();
    expect(s.takeBacks()).toEqual([{ device: 0, replica: 0, batch: waiting.batch }]);
    expect(s.batchTakenBack(waiting.batch, 1, 0, 0)).toBe(false); // not replica 1's
    expect(s.batchTakenBack(12345, 0, 0, 0)).toBe(false);
    expect(finish(s, running)).toEqual([0, 1, 2, 3]);
    expect(finish(s, waiting)).toEqual([4, 5, 6, 7]); // the replica had started it: its result counts
    expect(s.batchTakenBack(waiting.batch, 0, 0, 0)).toBe(false);
    expect(s.isDone).toBe(true);
    expect(s.inFlightItems).toBe(0);
  });

  it('a replica that may not take what waits in the queue takes back a waiting batch instead of idling', () => {
    // Replica 1 dies running item 15: it is retried alone and elsewhere first (on device 0, busy
    // with [0-3] and holding [4-7]). The restarted replica 1 may not take item 15, and nothing
    // else is queued: it gets [4-7] back from replica 0 rather than idle beside it.
    const { s, waiting } = idleBesideAWaitingBatch({ dieOnLast: true });
    expect(s.pendingCount).toBe(1);
    expect(s.takeBacks()).toEqual([{ device: 0, replica: 0, batch: waiting.batch }]);
    expect(s.batchTakenBack(waiting.batch, 0, 0, 0)).toBe(true);
    expect(s.assign(0)).toEqual([expect.objectContaining({ device: 1, items: [4, 5] })]); // a share of what is left
  });

  it('a replica lost while a batch is being taken back puts it back once', () => {
    const { s, waiting } = idleBesideAWaitingBatch();
    s.takeBacks();
    expect(s.replicaLost(0, 0, 'died').requeued).toBe(8); // 4 suspects to retry alone, 4 unstarted
    expect(s.batchTakenBack(waiting.batch, 0, 0, 0)).toBe(false); // its confirmation, too late
    expect(s.assign(0).map((a) => a.items)).toEqual([[0]]); // a suspect, alone
    expect(s.pendingCount).toBe(7);
  });
});
