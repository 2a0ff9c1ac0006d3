/** --workers-per-gpu auto, the rule: after a measurement at n replicas, add one or stop, and why. */
import { describe, expect, it } from 'vitest';
import { nextReplicaCount, type Measurement, type ReplicaCountLimits } from '../../src/scheduler/replica-count-rule.js';

const GiB = 2 ** 30;
const limits: ReplicaCountLimits = { maxReplicas: 8, headroomBytes: 2 * GiB, minGain: 0.1 };

function measured(replicas: number, itemsPerSecond: number, usedGiB: number, totalGiB = 24): Measurement {
  return { replicas, itemsPerSecond, memoryUsed: usedGiB * GiB, memoryFree: (totalGiB - usedGiB) * GiB };
}

describe('nextReplicaCount: adding', () => {
  it('adds a replica while throughput grows and memory leaves the headroom, and says so', () => {
    // 1 GiB held by others before any replica; each replica takes 3 GiB of a 24 GiB card.
    expect(nextReplicaCount(GiB, [measured(1, 10, 4)], limits)).toEqual({ action: 'add', reason: '10.0 items/s with 1; 20.0 GiB free, ~3.0 GiB per replica' });
    expect(nextReplicaCount(GiB, [measured(1, 10, 4), measured(2, 19, 7)], limits)).toMatchObject({ action: 'add' });
  });

  it('needs a measurement to decide', () => {
    expect(() => nextReplicaCount(GiB, [], limits)).toThrow('nextReplicaCount needs at least one measurement');
  });
});

describe('nextReplicaCount: the throughput stop', () => {
  it('the last replica gave less than 10% more', () => {
    const history = [measured(1, 10, 4), measured(2, 18, 7), measured(3, 19.7, 10)];
    const verdict = nextReplicaCount(GiB, history, limits);
    expect(verdict).toEqual({
      action: 'stop',
      bound: 'throughput',
      reason: 'replica 3 gave +9% throughput (18.0 -> 19.7 items/s), less than the 10% a replica must add',
    });
  });

  it('10% exactly is enough, also when rounding leaves it a hair under', () => {
    expect(nextReplicaCount(GiB, [measured(2, 20, 7), measured(3, 22, 10)], limits)).toMatchObject({ action: 'add' });
    // 1 -> 1.099999999 items/s: 10% less the rule's rounding tolerance (1e-9), still 10%.
    expect(nextReplicaCount(GiB, [measured(2, 1, 7), measured(3, 1.099999999, 10)], limits)).toMatchObject({ action: 'add' });
    expect(nextReplicaCount(GiB, [measured(2, 1, 7), measured(3, 1.0999999, 10)], limits)).toMatchObject({ action: 'stop', bound: 'throughput' });
  });

  it('a replica that made things slower stops it too, with the loss signed', () => {
    const verdict = nextReplicaCount(GiB, [measured(1, 10, 4), measured(2, 9, 7)], limits);
    expect(verdict).toMatchObject({ action: 'stop', bound: 'throughput' });
    expect(verdict.reason).toBe('replica 2 gave -10% throughput (10.0 -> 9.0 items/s), less than the 10% a replica must add');
  });

  it('writes rates of 100 items/s and more without decimals', () => {
    const verdict = nextReplicaCount(GiB, [measured(1, 100, 4), measured(2, 105.4, 7)], limits);
    expect(verdict.reason).toBe('replica 2 gave +5% throughput (100 -> 105 items/s), less than the 10% a replica must add');
    expect(nextReplicaCount(GiB, [measured(1, 99.94, 4)], limits).reason).toMatch(/^99\.9 items\/s with 1;/);
  });
});

describe('nextReplicaCount: the CPU and memory stops', () => {
  it('CPU cap: never more replicas than the cores allow, whatever memory and throughput say', () => {
    const verdict = nextReplicaCount(GiB, [measured(1, 10, 2), measured(2, 20, 3)], { ...limits, maxReplicas: 2 });
    expect(verdict).toEqual({ action: 'stop', bound: 'cpu', reason: '2 replica(s) per device is what the CPU cores allow (one core each)' });
  });

  it('one more replica would leave less than the headroom free', () => {
    // 3 GiB per replica: with 6 replicas 19 GiB used, 5 free; a 7th would leave 2 GiB, not under the 2 GiB headroom.
    const history = [measured(5, 50, 16), measured(6, 58, 19)];
    expect(nextReplicaCount(GiB, history, limits)).toMatchObject({ action: 'add' });
    const fuller = [...history, measured(7, 66, 22)]; // 2 GiB free; an 8th would leave -1 GiB
    const verdict = nextReplicaCount(GiB, fuller, limits);
    expect(verdict).toMatchObject({ action: 'stop', bound: 'memory' });
    expect(verdict.reason).toBe('another replica (~3.0 GiB each) would leave 0 MiB free, under the 2.0 GiB headroom');
  });

  it('counts what a larger headroom asks for', () => {
    const verdict = nextReplicaCount(GiB, [measured(1, 10, 4)], { ...limits, headroomBytes: 18 * GiB });
    expect(verdict).toMatchObject({ action: 'stop', bound: 'memory' });
    expect(verdict.reason).toMatch(/would leave 17\.0 GiB free, under the 18\.0 GiB headroom/);
  });

  it('without a reading before the first replica, all used memory is charged to the replicas', () => {
    // 6 GiB used by 1 replica (of which 5 GiB by others, unknown to the rule): 18 free, a 2nd
    // "costs" 6 -> 12 free, fine; with a 12.5 GiB headroom it is refused.
    expect(nextReplicaCount(undefined, [measured(1, 10, 6)], { ...limits, headroomBytes: 12 * GiB })).toMatchObject({ action: 'add' });
    expect(nextReplicaCount(undefined, [measured(1, 10, 6)], { ...limits, headroomBytes: 12.5 * GiB })).toMatchObject({ action: 'stop', bound: 'memory' });
    expect(nextReplicaCount(5 * GiB, [measured(1, 10, 6)], { ...limits, headroomBytes: 12.5 * GiB })).toMatchObject({ action: 'add' });
  });

  it('stops when the device memory could not be read, either figure', () => {
    const reason = 'the device memory could not be read, so another replica might not fit';
    const unreadable = { replicas: 1, itemsPerSecond: 10, memoryUsed: undefined, memoryFree: undefined };
    expect(nextReplicaCount(undefined, [unreadable], limits)).toEqual({ action: 'stop', bound: 'memory', reason });
    expect(nextReplicaCount(undefined, [{ ...measured(1, 10, 4), memoryUsed: undefined }], limits)).toEqual({ action: 'stop', bound: 'memory', reason });
    expect(nextReplicaCount(undefined, [{ ...measured(1, 10, 4), memoryFree: undefined }], limits)).toEqual({ action: 'stop', bound: 'memory', reason });
  });
});
