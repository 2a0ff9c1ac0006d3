/**
 * Items offered as the inputs are read: batches are what is queued, sized by what is left to
 * come; the run is done only once the inputs ended; no batch is taken back while more may come.
 */
import { describe, expect, it } from 'vitest';
import { Scheduler } from '../../src/scheduler/scheduler.js';
import { done, owners } from './helpers.js';

function streaming(options: { batchSize: number; prefetch: number }, replicas: number): Scheduler {
  const scheduler = new Scheduler(undefined, { retries: 2, ...options });
  for (let replica = 0; replica < replicas; replica += 1) {
    scheduler.addReplica(0, replica);
    scheduler.markReady(0, replica);
  }
  return scheduler;
}

describe('a scheduler offered items as they are read', () => {
  it('hands out what is queued while more may come, full batches once enough is, and is done only once the inputs ended', () => {
    const s = streaming({ batchSize: 8, prefetch: 1 }, 2);
    s.offer([0, 1, 2]);
    // Three items of a batch size of 8, and the end not known: they run now (a slow pipe's items should not wait).
    expect(owners(s.assign(0))).toEqual(['0/0: 0,1,2']);
    s.offer(Array.from({ length: 20 }, (_, i) => 3 + i));
    expect(owners(s.assign(0))).toEqual(['0/1: 3,4,5,6,7,8,9,10']);
    for (const sent of [{ batch: 0, device: 0, replica: 0, items: [0, 1, 2] }, { batch: 1, device: 0, replica: 1, items: [3, 4, 5, 6, 7, 8, 9, 10] }]) done(s, sent);
    expect(s.isDone).toBe(false);
    expect(s.total).toBeUndefined();
    // The guided share reckons with items not yet read: still full batches.
    expect(owners(s.assign(0))).toEqual(['0/0: 11,12,13,14,15,16,17,18', '0/1: 19,20,21,22']);
    s.endOfInput();
    expect(s.total).toBe(23);
    done(s, { batch: 2, device: 0, replica: 0, items: [11, 12, 13, 14, 15, 16, 17, 18] });
    done(s, { batch: 3, device: 0, replica: 1, items: [19, 20, 21, 22] });
    expect(s.isDone).toBe(true);
  });

  it('a count of what is still to come sizes the last batches as a known total does', () => {
    const s = streaming({ batchSize: 8, prefetch: 2 }, 2);
    s.expect(12);
    s.offer(Array.from({ length: 12 }, (_, i) => i));
    const complete = new Scheduler(12, { batchSize: 8, prefetch: 2, retries: 2 });
    for (const replica of [0, 1]) {
      complete.addReplica(0, replica);
      complete.markReady(0, replica);
    }
    const assigned = owners(s.assign(0));
    expect(assigned).toEqual(owners(complete.assign(0)));
    expect(assigned[0]).toBe('0/0: 0,1,2,3,4,5'); // 12 left over 2 replicas: 6, not a full 8
  });

  it('takes no batch back while the inputs may bring more', () => {
    const s = streaming({ batchSize: 1, prefetch: 2 }, 1);
    s.addReplica(0, 1);
    s.offer([0, 1]);
    expect(owners(s.assign(0))).toEqual(['0/0: 0', '0/0: 1']);
    s.markReady(0, 1); // a replica with nothing, another with a batch waiting
    expect(s.takeBacks()).toEqual([]);
    s.endOfInput();
    expect(s.takeBacks()).toEqual([{ device: 0, replica: 0, batch: 1 }]);
  });
});
