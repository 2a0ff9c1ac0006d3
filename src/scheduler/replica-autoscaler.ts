/**
 * --workers-per-gpu auto for one device: measures it at each replica count and asks the rule
 * (replica-count-rule.ts) whether to add a replica. Pure bookkeeping: the session reports
 * readiness, completed batches and memory readings with their times, and carries out `add`.
 *
 * Measuring n replicas: each replica's first batch after it became ready is a warm-up (lazy
 * initialisation, allocator growth, kernel selection) and is not counted; the window opens when
 * the last of the n finishes its warm-up. In the window a replica that is never idle (credit
 * keeps a batch waiting behind the running one) processes exactly the items of its batches
 * between two of its completions, so its rate is (items of its 2nd..k-th completions) /
 * (time of k-th - time of 1st); the device's throughput is the sum over its replicas. The
 * window closes when it has lasted `windowMs` and every replica completed `batchesPerReplica`
 * batches in it. Memory: the most used and the least free reported while the window was open.
 */
import { nextReplicaCount, type Measurement, type ReplicaCountLimits, type StopBound } from './replica-count-rule.js';

export interface AutoscalerOptions {
  limits: ReplicaCountLimits;
  windowMs: number;
  /** Completions a replica needs in a window (at least 2: a rate needs an interval). */
  batchesPerReplica: number;
}

export const AUTOSCALE_DEFAULTS = { windowMs: 5_000, batchesPerReplica: 3, minGain: 0.1 } as const;

export interface MemoryReading {
  used: number;
  free: number;
}

interface Completions {
  first: number;
  last: number;
  /** Items of the completions after the first one. */
  items: number;
  count: number;
}

export type AutoscaleStep = { action: 'wait' } | { action: 'add'; replica: number; reason: string } | { action: 'settled' };

export class DeviceAutoscaler {
  /** Replicas started (or being started) on the device. */
  replicas: number;
  readonly history: Measurement[] = [];
  /** Set once the count is final: why it stopped growing. */
  stopped: { bound: StopBound | 'work'; reason: string } | undefined;
  private baselineUsed: number | undefined;
  private anyReady = false;
  private readonly warm = new Set<number>();
  private readonly ready = new Set<number>();
  private windowOpenedAt: number | undefined;
  private readonly completions = new Map<number, Completions>();
  private peakUsed: number | undefined;
  private leastFree: number | undefined;

  constructor(
    initialReplicas: number,
    private readonly options: AutoscalerOptions,
  ) {
    this.replicas = initialReplicas;
  }

  memory(reading: MemoryReading): void {
    // The first reading before any replica is ready is the device without them.
    if (!this.anyReady && this.baselineUsed === undefined) this.baselineUsed = reading.used;
    if (this.windowOpenedAt === undefined) return;
    this.peakUsed = Math.max(this.peakUsed ?? 0, reading.used);
    this.leastFree = Math.min(this.leastFree ?? Infinity, reading.free);
  }

  replicaReady(replica: number): void {
    this.anyReady = true;
    this.ready.add(replica);
  }

  /** A replica was lost (died, timed out, or its host did): the measurement starts again. */
  replicaLost(replica: number): void {
    this.ready.delete(replica);
    this.warm.delete(replica);
    this.resetWindow();
  }

  batchCompleted(replica: number, items: number, now: number): void {
    if (this.stopped || !this.ready.has(replica)) return;
    if (!this.warm.has(replica)) {
      this.warm.add(replica);
      if (this.warm.size >= this.replicas && this.windowOpenedAt === undefined) this.windowOpenedAt = now;
      return;
    }
    if (this.windowOpenedAt === undefined) return;
    const seen = this.completions.get(replica);
    if (!seen) this.completions.set(replica, { first: now, last: now, items: 0, count: 1 });
    else {
      seen.last = now;
      seen.items += items;
      seen.count += 1;
    }
  }

  /** What to do now; `workLeft`: items are still waiting to be handed out. */
  step(now: number, workLeft: boolean): AutoscaleStep {
    if (this.stopped) return { action: 'settled' };
    if (!workLeft) {
      this.stopped = { bound: 'work', reason: `the work ran out while measuring ${this.replicas} replica(s)` };
      return { action: 'settled' };
    }
    const measurement = this.closeWindow(now);
    if (!measurement) return { action: 'wait' };
    this.history.push(measurement);
    const verdict = nextReplicaCount(this.baselineUsed, this.history, this.options.limits);
    if (verdict.action === 'stop') {
      this.stopped = { bound: verdict.bound, reason: verdict.reason };
      return { action: 'settled' };
    }
    this.replicas += 1;
    return { action: 'add', replica: this.replicas - 1, reason: verdict.reason };
  }

  /** For the progress row and the summary: the counts measured and the state or the stop. */
  describe(): string {
    const measured = this.history.map((entry) => `${entry.replicas}: ${entry.itemsPerSecond.toFixed(1)}/s`).join(', ');
    const prefix = `auto ${this.replicas} replica(s)${measured ? ` (${measured})` : ''}`;
    if (!this.stopped) return `${prefix}; measuring ${this.replicas}`;
    return `${prefix}; stopped (${this.stopped.bound}): ${this.stopped.reason}`;
  }

  private closeWindow(now: number): Measurement | undefined {
    const opened = this.windowOpenedAt;
    if (opened === undefined || now - opened < this.options.windowMs) return undefined;
    let itemsPerSecond = 0;
    for (let replica = 0; replica < this.replicas; replica += 1) {
      const seen = this.completions.get(replica);
      if (!seen || seen.count < this.options.batchesPerReplica || seen.last <= seen.first) return undefined;
      itemsPerSecond += (seen.items * 1000) / (seen.last - seen.first);
    }
    const measurement = { replicas: this.replicas, itemsPerSecond, memoryUsed: this.peakUsed, memoryFree: this.leastFree };
    this.resetWindow();
    return measurement;
  }

  private resetWindow(): void {
    this.windowOpenedAt = undefined;
    this.completions.clear();
    this.peakUsed = undefined;
    this.leastFree = undefined;
    // The next window opens when all `replicas` are warm again (a restarted one warms up anew).
  }
}
