/**
 * --workers-per-gpu auto during a run: one DeviceAutoscaler per measured device, fed what the
 * session sees (readiness, completed batches, memory telemetry). Pure: tick() says which devices
 * get one more replica and how each device's count was decided; the session starts the replica
 * (into the device's next slot) and shows the decision.
 */
import { AUTOSCALE_DEFAULTS, DeviceAutoscaler, type MemoryReading } from './replica-autoscaler.js';
import type { ReplicaPlan } from './replica-plan.js';

export interface GrowthStep {
  device: number;
  /** Start the device's next replica now. */
  add: boolean;
  /** Replicas the device has (counting the one to add). */
  replicas: number;
  /** How the count was decided, for the row and the summary. */
  decision: string;
}

export class ReplicaGrowth {
  private readonly scalers = new Map<number, DeviceAutoscaler>();
  /** How each device's count is decided, by device index (fixed now, or by the measured rule). */
  readonly decisions: (string | undefined)[];

  constructor(plan: ReplicaPlan, headroomBytes: number) {
    this.decisions = [...plan.notes];
    plan.measured.forEach((measured, device) => {
      if (!measured) return;
      const limits = { maxReplicas: plan.maxReplicas, headroomBytes, minGain: AUTOSCALE_DEFAULTS.minGain };
      const scaler = new DeviceAutoscaler(plan.initial[device] ?? 1, { limits, windowMs: AUTOSCALE_DEFAULTS.windowMs, batchesPerReplica: AUTOSCALE_DEFAULTS.batchesPerReplica });
      this.scalers.set(device, scaler);
      this.decisions[device] = scaler.describe();
    });
  }

  memory(device: number, reading: MemoryReading): void {
    this.scalers.get(device)?.memory(reading);
  }

  ready(device: number, replica: number): void {
    this.scalers.get(device)?.replicaReady(replica);
  }

  batchCompleted(device: number, replica: number, items: number, now: number): void {
    this.scalers.get(device)?.batchCompleted(replica, items, now);
  }

  lost(device: number, replica: number): void {
    this.scalers.get(device)?.replicaLost(replica);
  }

  /** The device left the run: nothing more to decide for it. */
  removed(device: number): void {
    this.scalers.delete(device);
  }

  /** `workLeft`: items still wait to be handed out (measuring an idle device means nothing). */
  tick(now: number, workLeft: boolean): GrowthStep[] {
    return [...this.scalers].map(([device, scaler]) => {
      // Within the slots: the rule stops at the CPU cap, which is the slot count.
      const add = scaler.step(now, workLeft).action === 'add';
      return { device, add, replicas: scaler.replicas, decision: scaler.describe() };
    });
  }
}
