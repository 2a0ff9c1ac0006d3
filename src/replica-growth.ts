/**
 * --workers-per-gpu auto during a run: one DeviceAutoscaler per measured device, fed what the
 * session sees (readiness, completed batches, memory telemetry); when one says `add`, the
 * session's `start` callback starts the next replica (Fleet.addReplica: a `start` command to
 * the device's host, into a task socket bound at the start of the run; Scheduler.addReplica:
 * work goes to it once it is ready). The decision and its reasons go to the device's stats.
 */
import type { DeviceStats } from './progress/stats.js';
import { AUTOSCALE_DEFAULTS, DeviceAutoscaler, type MemoryReading } from './scheduler/replica-autoscaler.js';
import type { ReplicaPlan } from './scheduler/replica-plan.js';

export class ReplicaGrowth {
  private readonly scalers = new Map<number, DeviceAutoscaler>();

  constructor(
    plan: ReplicaPlan,
    headroomBytes: number,
    private readonly stats: readonly DeviceStats[],
    /** Start the device's next replica; its index, or undefined when no slot is left. */
    private readonly start: (device: number) => number | undefined,
  ) {
    plan.measured.forEach((measured, device) => {
      const deviceStats = stats[device];
      if (deviceStats) deviceStats.replicaDecision = plan.notes[device];
      if (!measured) return;
      const limits = { maxReplicas: plan.maxReplicas, headroomBytes, minGain: AUTOSCALE_DEFAULTS.minGain };
      const scaler = new DeviceAutoscaler(plan.initial[device] ?? 1, { limits, windowMs: AUTOSCALE_DEFAULTS.windowMs, batchesPerReplica: AUTOSCALE_DEFAULTS.batchesPerReplica });
      this.scalers.set(device, scaler);
      if (deviceStats) deviceStats.replicaDecision = scaler.describe();
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
  tick(now: number, workLeft: boolean): void {
    for (const [device, scaler] of this.scalers) {
      const step = scaler.step(now, workLeft);
      if (step.action === 'add') this.start(device); // within the slots: the rule stops at the CPU cap, which is the slot count
      const stats = this.stats[device];
      if (stats) {
        stats.replicas = scaler.replicas;
        stats.replicaDecision = scaler.describe();
      }
    }
  }
}
