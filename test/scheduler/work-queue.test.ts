/** The work waiting to be handed out: fresh items in input order, items that came back before them. */
import { describe, expect, it } from 'vitest';
import { WorkQueue } from '../../src/scheduler/work-queue.js';

describe('WorkQueue', () => {
  it('hands out fresh items in input order, fewer at the end', () => {
    const queue = new WorkQueue([7, 3, 9, 1, 4]);
    expect(queue.takeFresh(2)).toEqual([7, 3]);
    expect(queue.takeFresh(5)).toEqual([9, 1, 4]);
    expect(queue.takeFresh(5)).toEqual([]);
    expect(queue.size).toBe(0);
  });

  it('returned items go first, in their order; items that came back wait apart', () => {
    const queue = new WorkQueue([0, 1, 2, 3, 4, 5]);
    const sent = queue.takeFresh(4);
    queue.returnFresh(sent.slice(2));
    queue.retry(1);
    queue.retry(0);
    expect([queue.freshCount, queue.size]).toEqual([4, 6]);
    expect(queue.takeRetry((index) => index === 0)).toBe(0);
    expect(queue.takeRetry(() => false)).toBeUndefined();
    expect(queue.takeRetry(() => true)).toBe(1);
    expect(queue.takeFresh(10)).toEqual([2, 3, 4, 5]);
  });

  it('keeps order across a long input whose consumed part is dropped from memory', () => {
    const total = 200_000;
    const queue = new WorkQueue(Array.from({ length: total }, (_, index) => index));
    const seen: number[] = [];
    while (queue.freshCount > 0) {
      const batch = queue.takeFresh(1_000);
      if (batch[0] === 150_000) {
        queue.returnFresh(batch); // a replica that died with it waiting
        seen.push(...queue.takeFresh(1_000));
      } else seen.push(...batch);
    }
    expect(seen).toEqual(Array.from({ length: total }, (_, index) => index));
  });
});
