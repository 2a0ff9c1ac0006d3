import { describe, expect, it } from 'vitest';
import { AdaptiveBatchSize, INITIAL_GROW_AFTER } from '../../src/scheduler/batch-size.js';
import { RESTART_DEFAULTS, RestartPolicy } from '../../src/scheduler/restarts.js';

describe('AdaptiveBatchSize', () => {
  it('drops to the size that ran, grows back by doubling after a run of successes, never past the maximum', () => {
    const size = new AdaptiveBatchSize(16);
    size.outOfMemory(4);
    expect(size.current).toBe(4);
    for (let i = 0; i < INITIAL_GROW_AFTER - 1; i += 1) size.succeeded();
    expect(size.current).toBe(4);
    size.succeeded();
    expect(size.current).toBe(8);
    for (let i = 0; i < INITIAL_GROW_AFTER * 4; i += 1) size.succeeded();
    expect(size.current).toBe(16);
    expect(size.lowest).toBe(4);
    expect(size.adapted).toBe(true);
  });

  it('waits twice as long before growing again when a growth ran out of memory', () => {
    const size = new AdaptiveBatchSize(16);
    size.outOfMemory(4);
    for (let i = 0; i < INITIAL_GROW_AFTER; i += 1) size.succeeded();
    expect(size.current).toBe(8);
    size.outOfMemory(4); // the growth did not fit
    expect(size.growAfter).toBe(INITIAL_GROW_AFTER * 2);
    for (let i = 0; i < INITIAL_GROW_AFTER; i += 1) size.succeeded();
    expect(size.current).toBe(4);
  });
});

describe('RestartPolicy', () => {
  it('restarts with a doubling back-off, reset by a completed batch', () => {
    const policy = new RestartPolicy();
    expect(policy.lost(0, 0, false, 'SIGSEGV')).toEqual({ action: 'restart', delayMs: RESTART_DEFAULTS.baseDelayMs });
    expect(policy.lost(0, 0, false, 'SIGSEGV')).toEqual({ action: 'restart', delayMs: RESTART_DEFAULTS.baseDelayMs * 2 });
    policy.progress(0, 0);
    expect(policy.lost(0, 0, false, 'SIGSEGV')).toEqual({ action: 'restart', delayMs: RESTART_DEFAULTS.baseDelayMs });
  });

  it('takes a device out when its replicas fail to start three times in a row', () => {
    const policy = new RestartPolicy();
    expect(policy.lost(1, 0, true, 'setup raised').action).toBe('restart');
    expect(policy.lost(1, 1, true, 'setup raised').action).toBe('restart');
    const third = policy.lost(1, 0, true, 'setup raised');
    expect(third).toMatchObject({ action: 'remove-device' });
    expect((third as { reason: string }).reason).toMatch(/failed to start 3 times in a row \(the last: setup raised\)/);
  });

  it('takes a device out whose replicas keep dying with no batch completed; a completed batch forgives', () => {
    const policy = new RestartPolicy();
    for (let i = 1; i < RESTART_DEFAULTS.maxDeathsWithoutProgress; i += 1) expect(policy.lost(0, i % 2, false, 'SIGKILL').action).toBe('restart');
    policy.progress(0, 0);
    for (let i = 1; i < RESTART_DEFAULTS.maxDeathsWithoutProgress; i += 1) expect(policy.lost(0, 0, false, 'SIGKILL').action).toBe('restart');
    expect(policy.lost(0, 0, false, 'SIGKILL').action).toBe('remove-device');
  });
});
