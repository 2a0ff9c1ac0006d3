/** A device's batch size after out-of-memory: down to what ran, back up by doubling, ever more cautiously. */
import { describe, expect, it } from 'vitest';
import { AdaptiveBatchSize, INITIAL_GROW_AFTER } from '../../src/scheduler/batch-size.js';

function succeed(size: AdaptiveBatchSize, times: number): void {
  for (let i = 0; i < times; i += 1) size.succeeded();
}

describe('AdaptiveBatchSize', () => {
  it('starts at the maximum, not adapted', () => {
    const size = new AdaptiveBatchSize(16);
    succeed(size, INITIAL_GROW_AFTER * 2);
    expect([size.current, size.lowest, size.adapted]).toEqual([16, 16, false]);
  });

  it('drops to the size that ran, grows back by doubling after a run of successes, never past the maximum', () => {
    const size = new AdaptiveBatchSize(16);
    size.outOfMemory(4);
    expect(size.current).toBe(4);
    succeed(size, INITIAL_GROW_AFTER - 1);
    expect(size.current).toBe(4);
    size.succeeded();
    expect(size.current).toBe(8);
    succeed(size, INITIAL_GROW_AFTER * 4);
    expect(size.current).toBe(16);
    expect(size.lowest).toBe(4);
    expect(size.adapted).toBe(true);
  });

  it('never goes below 1, nor up on a report of a larger size than it sent', () => {
    const size = new AdaptiveBatchSize(16);
    size.outOfMemory(0);
    expect(size.current).toBe(1);
    size.outOfMemory(8);
    expect(size.current).toBe(1);
  });

  it('waits twice as long before growing again when a growth ran out of memory', () => {
    const size = new AdaptiveBatchSize(16);
    size.outOfMemory(4);
    succeed(size, INITIAL_GROW_AFTER);
    expect(size.current).toBe(8);
    size.outOfMemory(4); // the growth did not fit
    expect(size.growAfter).toBe(INITIAL_GROW_AFTER * 2);
    succeed(size, INITIAL_GROW_AFTER);
    expect(size.current).toBe(4);
    succeed(size, INITIAL_GROW_AFTER);
    expect(size.current).toBe(8);
  });

  it('out of memory again before any growth does not make it wait longer still', () => {
    const size = new AdaptiveBatchSize(16);
    size.outOfMemory(4);
    succeed(size, INITIAL_GROW_AFTER);
    size.outOfMemory(4); // after a growth: twice as long
    size.outOfMemory(4); // no growth since: as long as before
    succeed(size, INITIAL_GROW_AFTER * 2);
    expect(size.current).toBe(8);
  });

  it('successes at the full size are no growth: the first out-of-memory there waits the initial streak', () => {
    const size = new AdaptiveBatchSize(16);
    succeed(size, INITIAL_GROW_AFTER);
    size.outOfMemory(4);
    succeed(size, INITIAL_GROW_AFTER);
    expect(size.current).toBe(8);
  });
});
