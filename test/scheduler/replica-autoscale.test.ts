/** --workers-per-gpu auto: the rule, the measurement windows and the plan, with made-up readings. */
import { describe, expect, it } from 'vitest';
import type { Device } from '../../src/devices/devices.js';
import { DeviceAutoscaler } from '../../src/scheduler/replica-autoscaler.js';
import { nextReplicaCount, type Measurement, type ReplicaCountLimits } from '../../src/scheduler/replica-count-rule.js';
import { AUTO_MAX_REPLICAS, planReplicas } from '../../src/scheduler/replica-plan.js';

const GiB = 2 ** 30;
const limits: ReplicaCountLimits = { maxReplicas: 8, headroomBytes: 2 * GiB, minGain: 0.1 };

function measured(replicas: number, itemsPerSecond: number, usedGiB: number, totalGiB = 24): Measurement {
  return { replicas, itemsPerSecond, memoryUsed: usedGiB * GiB, memoryFree: (totalGiB - usedGiB) * GiB };
}

describe('nextReplicaCount: the rule', () => {
  it('adds a replica while throughput grows and memory leaves the headroom', () => {
    // 1 GiB held by others before any replica; each replica takes 3 GiB of a 24 GiB card.
    expect(nextReplicaCount(GiB, [measured(1, 10, 4)], limits)).toMatchObject({ action: 'add' });
    expect(nextReplicaCount(GiB, [measured(1, 10, 4), measured(2, 19, 7)], limits)).toMatchObject({ action: 'add' });
  });

  it('memory-bound stop: one more replica would leave less than the headroom free', () => {
    // 3 GiB per replica: with 6 replicas 19 GiB used, 5 free; a 7th would leave 2 GiB, not under the 2 GiB headroom.
    const history = [measured(5, 50, 16), measured(6, 58, 19)];
    expect(nextReplicaCount(GiB, history, limits)).toMatchObject({ action: 'add' });
    const fuller = [...history, measured(7, 66, 22)]; // 2 GiB free; an 8th would leave -1 GiB
    const verdict = nextReplicaCount(GiB, fuller, limits);
    expect(verdict).toMatchObject({ action: 'stop', bound: 'memory' });
    expect(verdict.reason).toBe('another replica (~3.0 GiB each) would leave 0 MiB free, under the 2.0 GiB headroom');
  });

  it('memory-bound stop counts what a larger headroom asks for', () => {
    const verdict = nextReplicaCount(GiB, [measured(1, 10, 4)], { ...limits, headroomBytes: 18 * GiB });
    expect(verdict).toMatchObject({ action: 'stop', bound: 'memory' });
    expect(verdict.reason).toMatch(/would leave 17\.0 GiB free, under the 18\.0 GiB headroom/);
  });

  it('without a reading before the first replica, all used memory is charged to the replicas', () => {
    // 6 GiB used by 1 replica (of which 5 GiB by others, unknown to the rule): 18 free, a 2nd
    // "costs" 6 -> 12 free, fine; with a 12 GiB headroom it is refused.
    expect(nextReplicaCount(undefined, [measured(1, 10, 6)], { ...limits, headroomBytes: 12 * GiB })).toMatchObject({ action: 'add' });
    expect(nextReplicaCount(undefined, [measured(1, 10, 6)], { ...limits, headroomBytes: 12.5 * GiB })).toMatchObject({ action: 'stop', bound: 'memory' });
    expect(nextReplicaCount(5 * GiB, [measured(1, 10, 6)], { ...limits, headroomBytes: 12.5 * GiB })).toMatchObject({ action: 'add' });
  });

  it('throughput-bound stop: the last replica gave less than 10% more', () => {
    const history = [measured(1, 10, 4), measured(2, 18, 7), measured(3, 19.7, 10)];
    const verdict = nextReplicaCount(GiB, history, limits);
    expect(verdict).toMatchObject({ action: 'stop', bound: 'throughput' });
    expect(verdict.reason).toBe('replica 3 gave +9% throughput (18.0 -> 19.7 items/s), less than the 10% a replica must add');
    // 10% exactly is enough.
    expect(nextReplicaCount(GiB, [measured(2, 20, 7), measured(3, 22, 10)], limits)).toMatchObject({ action: 'add' });
    // A replica that made things slower stops it too.
    expect(nextReplicaCount(GiB, [measured(1, 10, 4), measured(2, 9, 7)], limits)).toMatchObject({ action: 'stop', bound: 'throughput' });
  });

  it('CPU cap: never more replicas than the cores allow, whatever memory and throughput say', () => {
    const verdict = nextReplicaCount(GiB, [measured(1, 10, 2), measured(2, 20, 3)], { ...limits, maxReplicas: 2 });
    expect(verdict).toMatchObject({ action: 'stop', bound: 'cpu' });
    expect(verdict.reason).toBe('2 replica(s) per device is what the CPU cores allow (one core each)');
  });

  it('stops when the device memory could not be read', () => {
    const unreadable = { replicas: 1, itemsPerSecond: 10, memoryUsed: undefined, memoryFree: undefined };
    expect(nextReplicaCount(undefined, [unreadable], limits)).toMatchObject({ action: 'stop', bound: 'memory' });
  });
});

/** Drives a DeviceAutoscaler as the session does: a replica completes a batch of `items` every `periodMs`. */
class SimulatedDevice {
  now = 0;
  constructor(
    readonly scaler: DeviceAutoscaler,
    /** items/s of each replica when n run: the device's throughput curve. */
    readonly perReplicaRate: (replicas: number) => number,
    readonly memoryUsed: (replicas: number) => number,
    readonly totalBytes = 24 * GiB,
  ) {}

  /** Runs until the scaler settles or `limitMs` passes; returns the replicas added, in order. */
  run(limitMs: number, batchItems = 4): number[] {
    const added: number[] = [];
    const nextCompletion = new Map<number, number>();
    this.scaler.memory({ used: this.memoryUsed(0), free: this.totalBytes - this.memoryUsed(0) });
    const start = (replica: number) => {
      this.scaler.replicaReady(replica);
      nextCompletion.set(replica, this.now + 1);
    };
    for (let replica = 0; replica < this.scaler.replicas; replica += 1) start(replica);
    while (this.now < limitMs) {
      this.now += 1;
      const replicas = nextCompletion.size;
      const periodMs = (batchItems * 1000) / this.perReplicaRate(replicas);
      for (const [replica, at] of nextCompletion) {
        if (this.now >= at) {
          this.scaler.batchCompleted(replica, batchItems, this.now);
          nextCompletion.set(replica, at + periodMs);
        }
      }
      if (this.now % 2000 === 0) this.scaler.memory({ used: this.memoryUsed(replicas), free: this.totalBytes - this.memoryUsed(replicas) });
      if (this.now % 250 === 0) {
        const step = this.scaler.step(this.now, true);
        if (step.action === 'settled') break;
        if (step.action === 'add') {
          added.push(step.replica);
          start(step.replica);
        }
      }
    }
    return added;
  }
}

describe('DeviceAutoscaler: measuring each count after a warm-up batch', () => {
  const options = (maxReplicas: number, headroomGiB = 2) => ({ limits: { maxReplicas, headroomBytes: headroomGiB * GiB, minGain: 0.1 }, windowMs: 5_000, batchesPerReplica: 3 });

  it('a device that saturates at three replicas: grows to four, sees +0%, stops on throughput', () => {
    const scaler = new DeviceAutoscaler(1, options(8));
    const device = new SimulatedDevice(scaler, (n) => (10 * Math.min(n, 3)) / n, (n) => (1 + 3 * n) * GiB);
    expect(device.run(120_000)).toEqual([1, 2, 3]);
    expect(scaler.replicas).toBe(4);
    expect(scaler.stopped?.bound).toBe('throughput');
    expect(scaler.history.map((entry) => Math.round(entry.itemsPerSecond))).toEqual([10, 20, 30, 30]);
    expect(scaler.describe()).toMatch(/^auto 4 replica\(s\) \(1: 10\.0\/s, 2: 20\.0\/s, 3: 30\.0\/s, 4: 30\.0\/s\); stopped \(throughput\): replica 4 gave \+0%/);
  });

  it('a device whose memory runs out first: stops on memory with the replicas that fit', () => {
    // 1 GiB baseline, 7 GiB per replica on 24 GiB: after 2 (15 used, 9 free) a 3rd leaves 2 - fits;
    // after 3 (22 used, 2 free) a 4th would leave -5: stop at 3.
    const scaler = new DeviceAutoscaler(1, options(8));
    const device = new SimulatedDevice(scaler, () => 10, (n) => (1 + 7 * n) * GiB);
    expect(device.run(120_000)).toEqual([1, 2]);
    expect(scaler.stopped?.bound).toBe('memory');
  });

  it('the CPU cap ends the growth of a device that would take more', () => {
    const scaler = new DeviceAutoscaler(1, options(2));
    const device = new SimulatedDevice(scaler, () => 10, () => GiB);
    expect(device.run(120_000)).toEqual([1]);
    expect(scaler.stopped?.bound).toBe('cpu');
  });

  it('measures nothing until every replica has finished its warm-up batch, and the window has lasted windowMs', () => {
    const scaler = new DeviceAutoscaler(1, options(8));
    scaler.memory({ used: GiB, free: 23 * GiB });
    scaler.replicaReady(0);
    scaler.batchCompleted(0, 4, 1_000); // warm-up: a slow first batch, not counted
    for (let t = 1_400; t <= 5_800; t += 400) scaler.batchCompleted(0, 4, t);
    scaler.memory({ used: 4 * GiB, free: 20 * GiB });
    expect(scaler.step(5_900, true)).toEqual({ action: 'wait' }); // window opened at 1 s: not 5 s yet
    scaler.batchCompleted(0, 4, 6_200);
    const step = scaler.step(6_200, true);
    expect(step).toMatchObject({ action: 'add', replica: 1 });
    expect(scaler.history[0]?.itemsPerSecond).toBeCloseTo(10, 5); // 4 items per 400 ms
    expect(scaler.history[0]?.memoryUsed).toBe(4 * GiB);
  });

  it('a lost replica restarts the measurement; running out of work settles the count', () => {
    const scaler = new DeviceAutoscaler(1, options(8));
    scaler.replicaReady(0);
    scaler.batchCompleted(0, 4, 0);
    for (let t = 400; t <= 4_000; t += 400) scaler.batchCompleted(0, 4, t);
    scaler.replicaLost(0);
    scaler.replicaReady(0);
    for (let t = 8_000; t <= 10_000; t += 400) scaler.batchCompleted(0, 4, t);
    expect(scaler.step(10_000, true)).toEqual({ action: 'wait' }); // the old window is gone
    expect(scaler.step(10_100, false)).toEqual({ action: 'settled' });
    expect(scaler.describe()).toBe('auto 1 replica(s); stopped (work): the work ran out while measuring 1 replica(s)');
  });
});

describe('planReplicas', () => {
  const gpus: Device[] = [0, 1].map((index) => ({ index, label: `cuda:${index}`, kind: 'cuda', visibleDevices: String(index) }));
  const cpus: Device[] = [0, 1].map((index) => ({ index, label: `cpu:${index}`, kind: 'cpu', visibleDevices: '' }));

  it('a fixed count starts every replica', () => {
    expect(planReplicas(3, gpus, 16)).toMatchObject({ slotsPerDevice: 3, initial: [3, 3], measured: [false, false] });
  });

  it('auto on GPUs starts one each, with slots up to cores / devices', () => {
    expect(planReplicas('auto', gpus, 16)).toMatchObject({ slotsPerDevice: 8, initial: [1, 1], measured: [true, true], maxReplicas: 8 });
    expect(planReplicas('auto', gpus, 3).maxReplicas).toBe(1);
    expect(planReplicas('auto', gpus, 1).maxReplicas).toBe(1);
    expect(planReplicas('auto', gpus, 512).maxReplicas).toBe(AUTO_MAX_REPLICAS);
  });

  it('auto on CPU devices: the fixed rule, one replica each, said in a note', () => {
    const plan = planReplicas('auto', cpus, 16);
    expect(plan).toMatchObject({ slotsPerDevice: 1, initial: [1, 1], measured: [false, false] });
    expect(plan.notes[0]).toMatch(/auto 1 replica: CPU device \(fixed rule/);
    expect(planReplicas('auto', cpus, 16, true)).toMatchObject({ slotsPerDevice: 8, measured: [true, true] });
  });
});
