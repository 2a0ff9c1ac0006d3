/** Credit beyond --prefetch for batches that take microseconds (credit.ts), and what bounds it. */
import { describe, expect, it } from 'vitest';
import { creditOf, FAST_WORK_SECONDS, MAX_CREDIT, measure } from '../../src/scheduler/credit.js';
import { readyScheduler } from './helpers.js';

describe('credit', () => {
  it('is --prefetch until a replica has measured a batch, and for batches of a millisecond or more', () => {
    expect(creditOf(2, undefined)).toBe(2);
    expect(creditOf(2, measure(undefined, 0.001))).toBe(2);
    expect(creditOf(3, measure(undefined, 0.2))).toBe(3);
  });

  it('grows to what fits in FAST_WORK_SECONDS at the measured pace, up to MAX_CREDIT', () => {
    expect(creditOf(2, measure(undefined, FAST_WORK_SECONDS / 10))).toBe(10);
    expect(creditOf(2, measure(undefined, 0.000_001))).toBe(MAX_CREDIT);
    expect(creditOf(2, measure(undefined, 0))).toBe(MAX_CREDIT);
  });

  it('one slow batch takes the extra credit away at once; it comes back as fast batches follow', () => {
    let pace = measure(undefined, 0.00001);
    for (let batch = 0; batch < 10; batch += 1) pace = measure(pace, 0.00001);
    expect(creditOf(2, pace)).toBe(MAX_CREDIT);
    pace = measure(pace, 0.01);
    expect(creditOf(2, pace)).toBe(2);
    pace = measure(pace, 0.00001);
    expect(creditOf(2, pace)).toBe(2); // the average still remembers it
    for (let batch = 0; batch < 40; batch += 1) pace = measure(pace, 0.00001);
    expect(creditOf(2, pace)).toBe(MAX_CREDIT);
  });
});

describe('the scheduler with credit for fast batches', () => {
  it('hands a replica more than --prefetch batches once its batches are measured fast, and --prefetch again when they slow down', () => {
    const scheduler = readyScheduler(100_000, { batchSize: 1, prefetch: 2 }, [[0, 0]]);
    const first = scheduler.assign(0);
    expect(first).toHaveLength(2);
    for (const sent of first) scheduler.batchDone({ batch: sent.batch, device: 0, replica: 0, outOfMemory: [false], busySeconds: 0.00001 }, 0);
    const fast = scheduler.assign(0);
    expect(fast).toHaveLength(MAX_CREDIT);
    for (const sent of fast) scheduler.batchDone({ batch: sent.batch, device: 0, replica: 0, outOfMemory: [false], busySeconds: 0.05 }, 0);
    expect(scheduler.assign(0)).toHaveLength(2);
  });

  it('beyond --prefetch, a replica holds no more than an equal share of what is left: a small run still spreads over every replica', () => {
    const scheduler = readyScheduler(40, { batchSize: 2, prefetch: 2 }, [[0, 0], [1, 0]]);
    const first = scheduler.assign(0);
    for (const sent of first) scheduler.batchDone({ batch: sent.batch, device: sent.device, replica: sent.replica, outOfMemory: [false, false], busySeconds: 0.00001 }, 0);
    // 32 items left, 2 replicas: each may hold up to 16 (8 batches of 2), not the 64 batches its pace allows.
    const next = scheduler.assign(0);
    const held = (device: number) => next.filter((sent) => sent.device === device).reduce((sum, sent) => sum + sent.items.length, 0);
    expect(held(0)).toBeLessThanOrEqual(16);
    expect(held(1)).toBeGreaterThan(0);
    expect(held(0) + held(1)).toBeGreaterThan(8); // more than --prefetch each: both are fast
  });
});
