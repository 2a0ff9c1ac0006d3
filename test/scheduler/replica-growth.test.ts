/**
 * --workers-per-gpu auto across devices: which device gets one more replica on a tick, and what
 * its row and the summary say, from the events the session reports.
 */
import { describe, expect, it } from 'vitest';
import type { Device } from '../../src/devices/devices.js';
import { ReplicaGrowth } from '../../src/scheduler/replica-growth.js';
import { planReplicas, type ReplicaPlan } from '../../src/scheduler/replica-plan.js';

const GiB = 2 ** 30;
const gpu = (index: number): Device => ({ index, label: `cuda:${index}`, kind: 'cuda', visibleDevices: String(index) });
const cpu = (index: number): Device => ({ index, label: `cpu:${index}`, kind: 'cpu', visibleDevices: '' });

/** Device `device`'s replica 0 runs at 10 items/s for 6 s with 4 GiB of 24 in use (1 GiB before it loaded). */
function measureOne(growth: ReplicaGrowth, device: number): void {
  growth.memory(device, { used: GiB, free: 23 * GiB });
  growth.ready(device, 0);
  growth.batchCompleted(device, 0, 4, 0); // warm-up
  growth.memory(device, { used: 4 * GiB, free: 20 * GiB });
  for (let t = 400; t <= 6_000; t += 400) growth.batchCompleted(device, 0, 4, t);
}

describe('ReplicaGrowth', () => {
  it('a fixed count has nothing to decide on a tick', () => {
    const growth = new ReplicaGrowth(planReplicas(2, [gpu(0)], 16), 2 * GiB);
    expect(growth.decisions).toEqual([undefined]);
    expect(growth.tick(10_000, true)).toEqual([]);
  });

  it('measures GPUs and leaves a CPU device at its fixed rule', () => {
    const growth = new ReplicaGrowth(planReplicas('auto', [gpu(0), cpu(1)], 16), 2 * GiB);
    expect(growth.decisions).toEqual(['auto 1 replica(s); measuring 1', 'auto 1 replica: CPU device (fixed rule: its replicas would share the same cores)']);
    expect(growth.tick(0, true)).toEqual([{ device: 0, add: false, replicas: 1, decision: 'auto 1 replica(s); measuring 1' }]);
  });

  it('adds a replica to a device once it is measured, and says how it decided', () => {
    const growth = new ReplicaGrowth(planReplicas('auto', [gpu(0), gpu(1)], 16), 2 * GiB);
    measureOne(growth, 1);
    expect(growth.tick(6_000, true)).toEqual([
      { device: 0, add: false, replicas: 1, decision: 'auto 1 replica(s); measuring 1' },
      { device: 1, add: true, replicas: 2, decision: 'auto 2 replica(s) (1: 10.0/s); measuring 2' },
    ]);
  });

  it('stops a device on the headroom it was given', () => {
    const growth = new ReplicaGrowth(planReplicas('auto', [gpu(0)], 16), 18 * GiB);
    measureOne(growth, 0);
    const [step] = growth.tick(6_000, true);
    expect(step).toMatchObject({ device: 0, add: false, replicas: 1 });
    expect(step?.decision).toBe('auto 1 replica(s) (1: 10.0/s); stopped (memory): another replica (~3.0 GiB each) would leave 17.0 GiB free, under the 18.0 GiB headroom');
  });

  it('a lost replica restarts its device\'s measurement', () => {
    const growth = new ReplicaGrowth(planReplicas('auto', [gpu(0)], 16), 2 * GiB);
    measureOne(growth, 0);
    growth.lost(0, 0);
    expect(growth.tick(6_000, true)).toEqual([{ device: 0, add: false, replicas: 1, decision: 'auto 1 replica(s); measuring 1' }]);
  });

  it('settles every count when the work runs out', () => {
    const growth = new ReplicaGrowth(planReplicas('auto', [gpu(0)], 16), 2 * GiB);
    expect(growth.tick(0, false)).toEqual([{ device: 0, add: false, replicas: 1, decision: 'auto 1 replica(s); stopped (work): the work ran out while measuring 1 replica(s)' }]);
  });

  it('a device taken out of the run is no longer decided on', () => {
    const growth = new ReplicaGrowth(planReplicas('auto', [gpu(0), gpu(1)], 16), 2 * GiB);
    growth.removed(0);
    expect(growth.tick(0, true).map((step) => step.device)).toEqual([1]);
  });

  it('counts from the replicas the plan starts a measured device with', () => {
    const plan: ReplicaPlan = { slotsPerDevice: 8, initial: [2], measured: [true], maxReplicas: 8, notes: [undefined] };
    const growth = new ReplicaGrowth(plan, 2 * GiB);
    expect(growth.decisions).toEqual(['auto 2 replica(s); measuring 2']);
  });

  it('events for a device it does not measure change nothing', () => {
    const growth = new ReplicaGrowth(planReplicas('auto', [gpu(0), cpu(1)], 16), 2 * GiB);
    measureOne(growth, 1);
    growth.lost(1, 0);
    expect(growth.tick(6_000, true).map((step) => step.device)).toEqual([0]);
  });
});
