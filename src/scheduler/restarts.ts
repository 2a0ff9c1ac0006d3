/**
 * When to restart a replica or a device host, and when to give up on a device. Pure policy:
 * the session (src/session/losses.ts) reports what happened and carries out the decision.
 *
 * - A lost replica (or host) is restarted after a back-off: 0.5 s, doubling with each loss in a
 *   row on that replica, at most 30 s. A batch that completes resets its replica's count.
 * - A device is taken out of the run when its replicas fail to start (setup raised, or died
 *   before they were ready) 3 times in a row, or die 4 times in a row without one batch
 *   completing on the device in between: its work moves to the other devices.
 */
export interface RestartPolicyOptions {
  baseDelayMs: number;
  maxDelayMs: number;
  maxStartFailures: number;
  maxDeathsWithoutProgress: number;
}

export const RESTART_DEFAULTS: RestartPolicyOptions = {
  baseDelayMs: 500,
  maxDelayMs: 30_000,
  maxStartFailures: 3,
  maxDeathsWithoutProgress: 4,
};

export type RestartDecision = { action: 'restart'; delayMs: number } | { action: 'remove-device'; reason: string };

export class RestartPolicy {
  private readonly lossesInARow = new Map<string, number>();
  private readonly startFailures = new Map<number, number>();
  private readonly deathsWithoutProgress = new Map<number, number>();

  constructor(private readonly options: RestartPolicyOptions = RESTART_DEFAULTS) {}

  /** A replica became ready: the device can start replicas. */
  ready(device: number): void {
    this.startFailures.set(device, 0);
  }

  /** A batch completed on a replica: the device works. */
  progress(device: number, replica: number): void {
    this.deathsWithoutProgress.set(device, 0);
    this.lossesInARow.set(`${device}/${replica}`, 0);
  }

  /** A replica was lost; `beforeReady`: it never finished setup. `why` names the cause. */
  lost(device: number, replica: number, beforeReady: boolean, why: string): RestartDecision {
    const key = `${device}/${replica}`;
    const losses = (this.lossesInARow.get(key) ?? 0) + 1;
    this.lossesInARow.set(key, losses);
    if (beforeReady) {
      const failures = (this.startFailures.get(device) ?? 0) + 1;
      this.startFailures.set(device, failures);
      if (failures >= this.options.maxStartFailures) {
        return { action: 'remove-device', reason: `its replicas failed to start ${failures} times in a row (the last: ${why})` };
      }
    } else {
      const deaths = (this.deathsWithoutProgress.get(device) ?? 0) + 1;
      this.deathsWithoutProgress.set(device, deaths);
      if (deaths >= this.options.maxDeathsWithoutProgress) {
        return { action: 'remove-device', reason: `its replicas died ${deaths} times in a row with no batch completed (the last: ${why})` };
      }
    }
    return { action: 'restart', delayMs: Math.min(this.options.maxDelayMs, this.options.baseDelayMs * 2 ** (losses - 1)) };
  }
}
