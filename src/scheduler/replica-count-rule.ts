/**
 * The rule of --workers-per-gpu auto: after a measurement at n replicas, add one more or stop.
 * Pure: it sees only the measurements it is given, so it is tested with made-up readings.
 *
 * Stops, checked in this order:
 * - throughput: the last replica added gave less than `minGain` (10%) more items per second
 *   (it stays: it costs memory, not throughput);
 * - CPU: n is the most the CPU cores allow (each replica needs a core to feed its device);
 * - memory: one more replica, costing what each costs now, would leave less free device memory
 *   than the headroom (2 GiB by default: room for what a batch's inputs may add).
 * Otherwise: add one.
 */
import { formatBytes } from '../util/format-bytes.js';

/** A device measured at one replica count, after every replica ran its first batch. */
export interface Measurement {
  replicas: number;
  itemsPerSecond: number;
  /** The most device memory in use during the measurement, in bytes; undefined: not readable. */
  memoryUsed: number | undefined;
  /** The least free device memory during the measurement, in bytes. */
  memoryFree: number | undefined;
}

export interface ReplicaCountLimits {
  /** The CPU cap: cores / devices, at least 1. */
  maxReplicas: number;
  headroomBytes: number;
  /** The least relative gain that justifies the replica that brought it (0.1: 10%). */
  minGain: number;
}

export type StopBound = 'throughput' | 'cpu' | 'memory';

export type ReplicaCountVerdict = { action: 'add'; reason: string } | { action: 'stop'; bound: StopBound; reason: string };

/**
 * `baselineUsed`: device memory in use before the first replica started (the host's first
 * reading), so that what others hold on the device is not charged to the replicas; undefined
 * when there was no such reading (then each replica is charged its share of all that is used,
 * which errs on the side of fewer replicas).
 */
export function nextReplicaCount(baselineUsed: number | undefined, history: readonly Measurement[], limits: ReplicaCountLimits): ReplicaCountVerdict {
  const last = history.at(-1);
  if (!last) throw new Error('nextReplicaCount needs at least one measurement');
  const previous = history.at(-2);
  const gain = previous && previous.itemsPerSecond > 0 ? last.itemsPerSecond / previous.itemsPerSecond - 1 : Infinity;
  // The epsilon keeps a gain of exactly minGain (20 -> 22 items/s: 10%) from failing on rounding.
  if (previous && gain < limits.minGain - 1e-9) {
    return {
      action: 'stop',
      bound: 'throughput',
      reason: `replica ${last.replicas} gave ${signedPercent(gain)} throughput (${rate(previous.itemsPerSecond)} -> ${rate(last.itemsPerSecond)} items/s), less than the ${Math.round(limits.minGain * 100)}% a replica must add`,
    };
  }
  if (last.replicas >= limits.maxReplicas) {
    return { action: 'stop', bound: 'cpu', reason: `${limits.maxReplicas} replica(s) per device is what the CPU cores allow (one core each)` };
  }
  if (last.memoryUsed === undefined || last.memoryFree === undefined) {
    return { action: 'stop', bound: 'memory', reason: 'the device memory could not be read, so another replica might not fit' };
  }
  const perReplica = Math.max(0, last.memoryUsed - (baselineUsed ?? 0)) / last.replicas;
  const freeAfter = last.memoryFree - perReplica;
  if (freeAfter < limits.headroomBytes) {
    return {
      action: 'stop',
      bound: 'memory',
      reason: `another replica (~${formatBytes(perReplica)} each) would leave ${formatBytes(Math.max(0, freeAfter))} free, under the ${formatBytes(limits.headroomBytes)} headroom`,
    };
  }
  return {
    action: 'add',
    reason: `${rate(last.itemsPerSecond)} items/s with ${last.replicas}; ${formatBytes(last.memoryFree)} free, ~${formatBytes(perReplica)} per replica`,
  };
}

function rate(itemsPerSecond: number): string {
  return itemsPerSecond >= 100 ? itemsPerSecond.toFixed(0) : itemsPerSecond.toFixed(1);
}

function signedPercent(fraction: number): string {
  const percent = Math.round(fraction * 100);
  return `${percent >= 0 ? '+' : ''}${percent}%`;
}
