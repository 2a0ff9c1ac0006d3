/**
 * The overall rate and ETA, from what the session records of each device's batches: when each
 * was sent and ended, and a smoothed time per item. A heavy model settles a whole batch at once
 * (8 items of 10 s: nothing for 80 s, then 8), so a rate of items settled jumps a batch at a
 * time; this one also counts the time the running batches have already run, as work done.
 *
 * Model: each replica spends `secondsPerItem` of its device per item. The time is an
 * exponential moving average over the device's finished batches (as tqdm smooths its rate,
 * with the same weight 0.3 for the newest), so one slow batch moves it only part of the way.
 * A running batch that has run t seconds counts min(size, t / secondsPerItem) items as done;
 * the run's rate is the sum over running batches of 1 / secondsPerItem (a replica with nothing
 * to run adds nothing, so the end of a run, when fewer replicas have work, is estimated right).
 */

/** tqdm's default smoothing: the weight of the newest batch in the moving average. */
export const SMOOTHING = 0.3;

interface SentBatch {
  batch: number;
  size: number;
  sentAt: number;
}

/** A running batch: the first one a replica holds, running since it was sent or its previous batch ended. */
export interface RunningBatch {
  size: number;
  startedAt: number;
}

/** One device's batches as the controller saw them: sent, ended, lost. Times in ms. */
export class BatchTimeline {
  /** Per replica, the batches it holds in the order sent: the first runs, the rest wait. */
  private readonly held = new Map<number, SentBatch[]>();
  /** Per replica, when its last batch ended: the next one started running then. */
  private readonly lastEndedAt = new Map<number, number>();
  /** Seconds a replica of this device spends per item, smoothed; undefined until a batch ended. */
  secondsPerItem: number | undefined;

  sent(replica: number, batch: number, size: number, now: number): void {
    const held = this.held.get(replica) ?? [];
    held.push({ batch, size, sentAt: now });
    this.held.set(replica, held);
  }

  /** A batch's results arrived. A batch the replica does not hold (lost, then answered late) is ignored. */
  ended(replica: number, batch: number, now: number): void {
    const held = this.held.get(replica) ?? [];
    const position = held.findIndex((entry) => entry.batch === batch);
    if (position < 0) return;
    const [entry] = held.splice(position, 1) as [SentBatch];
    if (position === 0 && entry.size > 0) {
      const sample = (now - this.startOf(replica, entry)) / 1000 / entry.size;
      this.secondsPerItem = this.secondsPerItem === undefined ? sample : SMOOTHING * sample + (1 - SMOOTHING) * this.secondsPerItem;
    }
    this.lastEndedAt.set(replica, now);
  }

  /** A batch given back unstarted (taken back for another replica): it will not run here. */
  takenBack(replica: number, batch: number): void {
    const held = this.held.get(replica) ?? [];
    const position = held.findIndex((entry) => entry.batch === batch);
    if (position >= 0) held.splice(position, 1);
  }

  /** A replica is lost (or, with no replica given, the whole device): what it held will not end here. */
  lost(replica?: number): void {
    if (replica === undefined) this.held.clear();
    else this.held.delete(replica);
  }

  running(): RunningBatch[] {
    const running: RunningBatch[] = [];
    for (const [replica, held] of this.held) {
      const first = held[0];
      if (first) running.push({ size: first.size, startedAt: this.startOf(replica, first) });
    }
    return running;
  }

  private startOf(replica: number, entry: SentBatch): number {
    return Math.max(entry.sentAt, this.lastEndedAt.get(replica) ?? -Infinity);
  }
}

export interface Estimate {
  /** Items per second the run settles now; undefined until a batch has ended and while nothing runs. */
  itemsPerSecond: number | undefined;
  /** Seconds to go; undefined while the rate is. */
  secondsLeft: number | undefined;
}

/** What the estimate reads: how many items the run has (undefined: not known yet) and has settled, and each device's batches. */
export interface EstimateInput {
  total: number | undefined;
  settled: number;
  devices: readonly { batches: BatchTimeline }[];
}

export function estimate(input: EstimateInput, now: number): Estimate {
  // Unknown total: the rate still shows, the time left cannot.
  const remaining = input.total === undefined ? Infinity : Math.max(0, input.total - input.settled);
  const known = input.devices.map((device) => device.batches.secondsPerItem).filter((value): value is number => value !== undefined && value > 0);
  if (known.length === 0) return { itemsPerSecond: undefined, secondsLeft: remaining === 0 ? 0 : undefined };
  // A device whose first batch is still running is taken to be as fast as the others on average.
  const fallback = known.reduce((sum, value) => sum + value, 0) / known.length;
  let itemsPerSecond = 0;
  let underway = 0;
  for (const device of input.devices) {
    const perItem = device.batches.secondsPerItem !== undefined && device.batches.secondsPerItem > 0 ? device.batches.secondsPerItem : fallback;
    for (const batch of device.batches.running()) {
      itemsPerSecond += 1 / perItem;
      underway += Math.min(batch.size, Math.max(0, now - batch.startedAt) / 1000 / perItem);
    }
  }
  if (remaining === 0) return { itemsPerSecond: itemsPerSecond > 0 ? itemsPerSecond : undefined, secondsLeft: 0 };
  if (itemsPerSecond === 0) return { itemsPerSecond: undefined, secondsLeft: undefined };
  return { itemsPerSecond, secondsLeft: Number.isFinite(remaining) ? Math.max(0, remaining - underway) / itemsPerSecond : undefined };
}
