/** What happens to an item that comes back, as the policy decides it from the item's history. */
import { describe, expect, it } from 'vitest';
import { afterLoss, afterOutOfMemory, cameBack, ItemHistories, mayRetryOn, MAX_DEATHS_PER_ITEM } from '../../src/scheduler/retry-policy.js';

describe('retry policy', () => {
  it('an item runs apart from fresh work once it ran out of memory or was running when its replica was lost', () => {
    const histories = new ItemHistories();
    expect(cameBack(histories.get(0))).toBe(false); // never came back: no history at all
    expect(cameBack(histories.of(1))).toBe(false);
    afterOutOfMemory(1, histories.of(1), 0, 2);
    expect(cameBack(histories.get(1))).toBe(true);
    afterLoss(2, histories.of(2), 0, 'timed out', 2);
    expect(cameBack(histories.get(2))).toBe(true);
  });

  it('a suspect waits for a replica with nothing in flight; an out-of-memory item does not', () => {
    const histories = new ItemHistories();
    afterLoss(0, histories.of(0), 0, 'died', 2);
    afterOutOfMemory(1, histories.of(1), 0, 2);
    const live = new Set([0, 1]);
    expect([mayRetryOn(histories.of(0), 1, true, live), mayRetryOn(histories.of(0), 1, false, live)]).toEqual([false, true]);
    expect(mayRetryOn(histories.of(1), 1, true, live)).toBe(true);
  });

  it('prefers a device not tried while one is live, then takes any', () => {
    const histories = new ItemHistories();
    afterOutOfMemory(0, histories.of(0), 0, 2);
    expect(mayRetryOn(histories.of(0), 0, false, new Set([0, 1]))).toBe(false);
    expect(mayRetryOn(histories.of(0), 1, false, new Set([0, 1]))).toBe(true);
    expect(mayRetryOn(histories.of(0), 0, false, new Set([0]))).toBe(true); // device 1 left the run
  });

  it(`gives up after ${MAX_DEATHS_PER_ITEM} deaths, saying how often, where and after how many dispatches`, () => {
    const history = new ItemHistories().of(7);
    expect(afterLoss(7, history, 0, 'died', 2)).toBe('retry');
    history.dispatches += 1;
    expect(afterLoss(7, history, 1, 'died', 2)).toEqual({ index: 7, cause: 'died', count: 2, devicesTried: [0, 1], attempts: 2 });
  });
});
