/**
 * How many replicas each device gets: a fixed --workers-per-gpu N, or `auto`.
 *
 * `slotsPerDevice` is the most replicas a device may ever have (its hosts' launch config says so,
 * and the CPU threads per replica are shared out for that many). A fixed N starts all N. `auto` starts one per device and
 * lets src/scheduler/replica-autoscaler.ts add the others one at a time.
 *
 * The rule for auto, per kind of device:
 * - GPU: measured (replica-count-rule.ts), up to the CPU cap: cores / devices, at least 1, at
 *   most AUTO_MAX_REPLICAS.
 * - CPU device (fixed rule): one replica. The replicas of a CPU device run on the same cores,
 *   and one replica's torch threads already use that device's share of them; a second replica
 *   would only divide the cores and add a copy of the model.
 *   (GPU_ORCHESTRATE_AUTO_MEASURE_CPU=1 applies the measured rule to CPU devices instead, with
 *   the host's process-tree memory as the device's: how tests exercise growth without a GPU.)
 */
import type { Device } from '../devices/devices.js';

export const AUTO_MAX_REPLICAS = 16;

export interface ReplicaPlan {
  slotsPerDevice: number;
  /** Replicas each device starts with, by device index. */
  initial: number[];
  /** Devices whose count the measured rule decides, by device index. */
  measured: boolean[];
  /** The CPU cap (auto only). */
  maxReplicas: number;
  /** A decision already made when the run starts (fixed N, or the CPU rule), by device index. */
  notes: (string | undefined)[];
}

export function cpuCap(cores: number, deviceCount: number): number {
  return Math.min(AUTO_MAX_REPLICAS, Math.max(1, Math.floor(cores / Math.max(1, deviceCount))));
}

export function planReplicas(workersPerGpu: number | 'auto', devices: readonly Device[], cores: number, measureCpuDevices = false): ReplicaPlan {
  if (workersPerGpu !== 'auto') {
    return {
      slotsPerDevice: workersPerGpu,
      initial: devices.map(() => workersPerGpu),
      measured: devices.map(() => false),
      maxReplicas: workersPerGpu,
      notes: devices.map(() => undefined),
    };
  }
  const maxReplicas = cpuCap(cores, devices.length);
  const measured = devices.map((device) => device.kind === 'cuda' || measureCpuDevices);
  return {
    slotsPerDevice: measured.some(Boolean) ? maxReplicas : 1,
    initial: devices.map(() => 1),
    measured,
    maxReplicas,
    notes: devices.map((_, index) => (measured[index] ? undefined : 'auto 1 replica: CPU device (fixed rule: its replicas would share the same cores)')),
  };
}
