/**
 * --workers-per-gpu auto, one device: what a measurement counts. A replica's first batch is a
 * warm-up; the window opens when the last replica is warm, lasts windowMs and needs each replica's
 * batchesPerReplica completions; memory is what was read while it was open.
 */
import { describe, expect, it } from 'vitest';
import { DeviceAutoscaler } from '../../src/scheduler/replica-autoscaler.js';

const GiB = 2 ** 30;

function scaler(replicas = 1, headroomGiB = 2): DeviceAutoscaler {
  return new DeviceAutoscaler(replicas, { limits: { maxReplicas: 8, headroomBytes: headroomGiB * GiB, minGain: 0.1 }, windowMs: 5_000, batchesPerReplica: 3 });
}

/** `replica` completes a batch of 4 items every `periodMs` from `from` to `to`. */
function completes(device: DeviceAutoscaler, replica: number, from: number, to: number, periodMs: number): void {
  for (let t = from; t <= to; t += periodMs) device.batchCompleted(replica, 4, t);
}

const used = (usedGiB: number, totalGiB = 24) => ({ used: usedGiB * GiB, free: (totalGiB - usedGiB) * GiB });

describe('DeviceAutoscaler: the measurement window', () => {
  it('measures nothing until every replica has finished its warm-up batch, and the window has lasted windowMs', () => {
    const device = scaler();
    device.memory(used(1));
    device.replicaReady(0);
    device.batchCompleted(0, 4, 1_000); // warm-up: a slow first batch, not counted
    completes(device, 0, 1_400, 5_800, 400);
    device.memory(used(4));
    expect(device.step(5_900, true)).toEqual({ action: 'wait' }); // window opened at 1 s: not 5 s yet
    const step = device.step(6_000, true); // 5 s exactly
    expect(step).toEqual({ action: 'add', replica: 1, reason: '10.0 items/s with 1; 20.0 GiB free, ~3.0 GiB per replica' });
    expect(device.history).toEqual([{ replicas: 1, itemsPerSecond: 10, memoryUsed: 4 * GiB, memoryFree: 20 * GiB }]);
    expect(device.describe()).toBe('auto 2 replica(s) (1: 10.0/s); measuring 2');
  });

  it('counts n replicas only from when the last of them is warm, not what the first did alone', () => {
    const device = scaler(2);
    device.replicaReady(0);
    device.replicaReady(1);
    device.batchCompleted(0, 4, 100); // replica 0 is warm and runs alone, fast
    completes(device, 0, 200, 3_000, 100);
    device.batchCompleted(1, 4, 3_000); // replica 1 warm at 3 s: the window opens
    completes(device, 0, 3_400, 12_000, 400); // from now on both do 10 items/s
    completes(device, 1, 3_400, 12_000, 400);
    const steps = [];
    for (let t = 3_000; t <= 12_000; t += 100) steps.push({ t, step: device.step(t, true) });
    const first = steps.find((entry) => entry.step.action !== 'wait');
    expect(first?.t).toBe(8_000);
    expect(device.history[0]?.itemsPerSecond).toBeCloseTo(20, 9);
  });

  it('waits for each replica\'s batchesPerReplica completions in the window', () => {
    const device = scaler();
    device.replicaReady(0);
    device.batchCompleted(0, 4, 0);
    device.memory(used(4));
    device.batchCompleted(0, 4, 2_000);
    device.batchCompleted(0, 4, 4_000);
    expect(device.step(6_000, true)).toEqual({ action: 'wait' }); // two completions: one interval
    device.batchCompleted(0, 4, 6_000);
    expect(device.step(6_000, true)).toMatchObject({ action: 'add' }); // three: 8 items in 4 s
    expect(device.history[0]?.itemsPerSecond).toBe(2);
  });

  it('waits while a replica has completed nothing in the window', () => {
    const device = scaler(2);
    device.replicaReady(0);
    device.replicaReady(1);
    device.batchCompleted(0, 4, 0);
    device.batchCompleted(1, 4, 0);
    completes(device, 0, 400, 8_000, 400); // replica 1 is stuck on a long batch
    expect(device.step(8_000, true)).toEqual({ action: 'wait' });
  });

  it('takes no rate from completions reported at one instant (no interval to divide by)', () => {
    const device = scaler();
    device.replicaReady(0);
    device.batchCompleted(0, 4, 0);
    for (let n = 0; n < 3; n += 1) device.batchCompleted(0, 4, 5_000);
    expect(device.step(5_000, true)).toEqual({ action: 'wait' });
  });

  it('ignores completions of a replica that is not ready (a lost one\'s late results)', () => {
    const device = scaler();
    device.replicaReady(0);
    device.replicaLost(0);
    completes(device, 0, 0, 8_000, 400);
    expect(device.step(8_000, true)).toEqual({ action: 'wait' });
  });

  it('a lost replica restarts the measurement; running out of work settles the count', () => {
    const device = scaler();
    device.replicaReady(0);
    completes(device, 0, 0, 4_000, 400);
    device.replicaLost(0);
    device.replicaReady(0);
    completes(device, 0, 8_000, 10_000, 400);
    expect(device.step(10_000, true)).toEqual({ action: 'wait' }); // the old window is gone
    expect(device.step(10_100, false)).toEqual({ action: 'settled' });
    expect(device.describe()).toBe('auto 1 replica(s); stopped (work): the work ran out while measuring 1 replica(s)');
  });

  it('the step that stops the growth settles the count', () => {
    const device = scaler(1, 30); // a 30 GiB headroom on a 24 GiB card: no second replica fits
    device.replicaReady(0);
    completes(device, 0, 0, 6_000, 400);
    device.memory(used(4));
    expect(device.step(6_000, true)).toEqual({ action: 'settled' });
    expect(device.stopped?.bound).toBe('memory');
  });
});

describe('DeviceAutoscaler: memory readings', () => {
  /** One replica measured at 10 items/s from 0 to 6 s, with `inWindow` read while the window is open. */
  function measure(device: DeviceAutoscaler, inWindow: { used: number; free: number }[]) {
    device.replicaReady(0);
    device.batchCompleted(0, 4, 0);
    for (const reading of inWindow) device.memory(reading);
    completes(device, 0, 400, 6_000, 400);
    return device.step(6_000, true);
  }

  it('the first reading before any replica is ready is what others hold: not charged to the replicas', () => {
    const device = scaler(1, 2);
    device.memory(used(1)); // the device before the model loads
    device.memory(used(9)); // loading, before ready: not the baseline
    // 12 GiB used with one replica: it costs 11, and a second would leave 12 - 11 = 1 GiB free.
    expect(measure(device, [used(12)])).toEqual({ action: 'settled' });
    expect(device.stopped?.reason).toBe('another replica (~11.0 GiB each) would leave 1.0 GiB free, under the 2.0 GiB headroom');
  });

  it('without a reading before the first replica, all used memory is charged to it', () => {
    const device = scaler(1, 2);
    expect(measure(device, [used(12)])).toEqual({ action: 'settled' });
    expect(device.stopped?.reason).toBe('another replica (~12.0 GiB each) would leave 0 MiB free, under the 2.0 GiB headroom');
  });

  it('takes the most used and the least free read while the window was open, and nothing read before', () => {
    const device = scaler(1, 2);
    device.memory(used(1));
    device.replicaReady(0);
    device.memory(used(20)); // the warm-up's transient peak, before the window opens
    device.batchCompleted(0, 4, 0);
    device.memory(used(5));
    device.memory({ used: 6 * GiB, free: 19 * GiB });
    device.memory({ used: 4 * GiB, free: 17 * GiB }); // another process took memory meanwhile
    completes(device, 0, 400, 6_000, 400);
    expect(device.step(6_000, true)).toMatchObject({ action: 'add' });
    expect(device.history[0]).toMatchObject({ memoryUsed: 6 * GiB, memoryFree: 17 * GiB });
  });
});
