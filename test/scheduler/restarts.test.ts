/** When a lost replica is restarted (after what delay), and when its device leaves the run. */
import { describe, expect, it } from 'vitest';
import { RESTART_DEFAULTS, RestartPolicy } from '../../src/scheduler/restarts.js';

describe('RestartPolicy', () => {
  it('restarts with a doubling back-off, reset by a completed batch', () => {
    const policy = new RestartPolicy();
    expect(policy.lost(0, 0, false, 'SIGSEGV')).toEqual({ action: 'restart', delayMs: RESTART_DEFAULTS.baseDelayMs });
    expect(policy.lost(0, 0, false, 'SIGSEGV')).toEqual({ action: 'restart', delayMs: RESTART_DEFAULTS.baseDelayMs * 2 });
    policy.progress(0, 0);
    expect(policy.lost(0, 0, false, 'SIGSEGV')).toEqual({ action: 'restart', delayMs: RESTART_DEFAULTS.baseDelayMs });
  });

  it('counts the back-off per replica, and caps it', () => {
    const policy = new RestartPolicy({ ...RESTART_DEFAULTS, maxDeathsWithoutProgress: 100 });
    const delays = Array.from({ length: 8 }, () => policy.lost(0, 0, false, 'SIGSEGV')).map((decision) => decision.action === 'restart' && decision.delayMs);
    expect(delays).toEqual([500, 1_000, 2_000, 4_000, 8_000, 16_000, 30_000, 30_000]);
    expect(policy.lost(0, 1, false, 'SIGSEGV')).toEqual({ action: 'restart', delayMs: 500 });
  });

  it('takes a device out when its replicas fail to start three times in a row', () => {
    const policy = new RestartPolicy();
    expect(policy.lost(1, 0, true, 'setup raised').action).toBe('restart');
    expect(policy.lost(1, 1, true, 'setup raised').action).toBe('restart');
    expect(policy.lost(1, 0, true, 'setup raised')).toEqual({
      action: 'remove-device',
      reason: 'its replicas failed to start 3 times in a row (the last: setup raised)',
    });
  });

  it('a replica that became ready on the device forgives the failed starts before it', () => {
    const policy = new RestartPolicy();
    policy.lost(1, 0, true, 'setup raised');
    policy.lost(1, 1, true, 'setup raised');
    policy.ready(1);
    expect(policy.lost(1, 0, true, 'setup raised').action).toBe('restart');
    expect(policy.lost(1, 0, true, 'setup raised').action).toBe('restart');
    expect(policy.lost(1, 0, true, 'setup raised').action).toBe('remove-device');
  });

  it('takes a device out whose replicas keep dying with no batch completed; a completed batch forgives', () => {
    const policy = new RestartPolicy();
    for (let i = 1; i < RESTART_DEFAULTS.maxDeathsWithoutProgress; i += 1) expect(policy.lost(0, i % 2, false, 'SIGKILL').action).toBe('restart');
    policy.progress(0, 0);
    for (let i = 1; i < RESTART_DEFAULTS.maxDeathsWithoutProgress; i += 1) expect(policy.lost(0, 0, false, 'SIGKILL').action).toBe('restart');
    expect(policy.lost(0, 0, false, 'SIGKILL')).toEqual({
      action: 'remove-device',
      reason: 'its replicas died 4 times in a row with no batch completed (the last: SIGKILL)',
    });
  });

  it('a device that fails keeps no other device from restarting', () => {
    const policy = new RestartPolicy();
    for (let i = 0; i < 3; i += 1) policy.lost(0, 0, true, 'setup raised');
    expect(policy.lost(1, 0, true, 'setup raised')).toEqual({ action: 'restart', delayMs: 500 });
  });
});
