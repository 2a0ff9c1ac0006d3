/** --workers-per-gpu auto on one device, run against simulated throughput and memory curves. */
import { describe, expect, it } from 'vitest';
import { DeviceAutoscaler } from '../../src/scheduler/replica-autoscaler.js';

const GiB = 2 ** 30;

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

const options = (maxReplicas: number, headroomGiB = 2) => ({ limits: { maxReplicas, headroomBytes: headroomGiB * GiB, minGain: 0.1 }, windowMs: 5_000, batchesPerReplica: 3 });

describe('DeviceAutoscaler: growing a device one replica at a time', () => {
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

  it('says what it measures while it measures, and keeps its stop once stopped', () => {
    const scaler = new DeviceAutoscaler(1, options(2));
    expect(scaler.describe()).toBe('auto 1 replica(s); measuring 1');
    const device = new SimulatedDevice(scaler, () => 10, () => GiB);
    device.run(120_000);
    const stopped = 'auto 2 replica(s) (1: 10.0/s, 2: 20.0/s); stopped (cpu): 2 replica(s) per device is what the CPU cores allow (one core each)';
    expect(scaler.describe()).toBe(stopped);
    expect(scaler.step(device.now + 60_000, true)).toEqual({ action: 'settled' });
    expect(scaler.step(device.now + 60_000, false)).toEqual({ action: 'settled' }); // not "the work ran out"
    expect(scaler.describe()).toBe(stopped);
  });
});
