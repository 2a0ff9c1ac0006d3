/**
 * The ETA against made-up timelines of batches sent and ended, as the session records them. A
 * heavy model settles a whole batch at once; the ETA must still fall smoothly, one second per
 * second when the model's speed holds, and say `--` until a batch has ended.
 */
import { describe, expect, it } from 'vitest';
import { BatchTimeline, SMOOTHING, estimate } from '../../src/progress/eta.js';
import { DeviceStats, RunStats, overallLine } from '../../src/progress/stats.js';

/** A run whose session events are given by hand, at seconds after the run started. */
class Timeline {
  readonly stats: RunStats;
  private readonly held = new Map<number, { device: number; replica: number; size: number }>();

  constructor(total: number, devices: number) {
    this.stats = new RunStats(total, Array.from({ length: devices }, (_, index) => new DeviceStats(`cpu:${index}`, 1, 8)));
  }

  at(seconds: number): number {
    return this.stats.startedAt + seconds * 1000;
  }

  send(seconds: number, device: number, replica: number, batch: number, size: number): this {
    this.held.set(batch, { device, replica, size });
    this.device(device).batches.sent(replica, batch, size, this.at(seconds));
    return this;
  }

  /** The batch's results arrive: every item written, `failed` of them as failed. */
  end(seconds: number, batch: number, failed = 0): this {
    const sent = this.held.get(batch);
    if (!sent) throw new Error(`batch ${batch} was not sent`);
    const device = this.device(sent.device);
    device.batches.ended(sent.replica, batch, this.at(seconds));
    device.done += sent.size - failed;
    device.failed += failed;
    return this;
  }

  lose(device: number, replica: number): this {
    this.device(device).batches.lost(replica);
    return this;
  }

  eta(seconds: number): number | undefined {
    return estimate(this.stats, this.at(seconds)).secondsLeft;
  }

  line(seconds: number): string {
    return overallLine(this.stats, this.at(seconds));
  }

  private device(index: number): DeviceStats {
    return this.stats.devices[index] as DeviceStats;
  }
}

function range(from: number, to: number, step = 1): number[] {
  return Array.from({ length: Math.floor((to - from) / step) }, (_, index) => from + index * step);
}

describe('the ETA', () => {
  it('is -- until a batch has ended, then counts down one second per second while the speed holds', () => {
    // Two devices, batches of 8 at 10 s an item, prefetch 2: 32 items, 160 s.
    const run = new Timeline(32, 2).send(0, 0, 0, 0, 8).send(0, 1, 0, 1, 8).send(0, 0, 0, 2, 8).send(0, 1, 0, 3, 8);
    for (const t of [0, 10, 79]) {
      expect(run.eta(t)).toBeUndefined();
      expect(run.line(t)).toMatch(/ · -- items\/s · elapsed \S+ · ETA --$/);
    }
    run.end(80, 0).end(80, 1);
    for (const t of range(80, 160)) expect(run.eta(t)).toBeCloseTo(160 - t, 6);
    expect(run.line(100)).toMatch(/^16\/32 items \(50\.0%\) · 5\.0 s\/item · elapsed 1m40s · ETA 1m00s$/);
    run.end(160, 2).end(160, 3);
    expect(run.eta(160)).toBe(0);
    expect(run.line(160)).toMatch(/^32\/32 items \(100\.0%\) · 5\.0 s\/item · elapsed 2m40s · ETA 0s$/); // the run's own speed, once it is over
  });

  it('counts the time in-flight batches have run: 12 items of 10 s split 8 and 4 never climbs, and ends on time', () => {
    // The run: one device takes 8 items in one batch, the other 4, then idles.
    const run = new Timeline(12, 2).send(0, 0, 0, 0, 8).send(0, 1, 0, 1, 4).end(40, 1);
    const etas = range(40, 80, 0.5).map((t) => run.eta(t) as number);
    etas.forEach((eta, index) => expect(eta).toBeCloseTo(80 - (40 + index * 0.5), 6));
    // Never up: each estimate is at most the one before it.
    for (let index = 1; index < etas.length; index += 1) expect(etas[index]).toBeLessThanOrEqual(etas[index - 1] as number);
    expect(run.line(60)).toMatch(/^4\/12 items \(33\.3%\) · 10\.0 s\/item · elapsed 1m00s · ETA 20s$/);
  });

  it('does not jump when a batch ends as expected: the items it settles were already counted as under way', () => {
    const run = new Timeline(24, 1).send(0, 0, 0, 0, 8).send(0, 0, 0, 1, 8).end(80, 0).send(80, 0, 0, 2, 8);
    const before = run.eta(159.9) as number;
    run.end(160, 1);
    const after = run.eta(160.1) as number;
    expect(Math.abs(before - after)).toBeLessThan(0.5);
    expect(after).toBeCloseTo(80 - 0.1, 6);
  });

  it('a batch slower than expected holds the ETA (it never goes below zero), and then moves the estimate part of the way', () => {
    const run = new Timeline(24, 1).send(0, 0, 0, 0, 8).send(0, 0, 0, 1, 8).end(80, 0);
    // The running batch should end at 160 s; at 200 s it still runs: its 8 items count at most.
    expect(run.eta(200)).toBeCloseTo(80, 6);
    expect(run.eta(300)).toBeCloseTo(80, 6);
    run.send(80, 0, 0, 2, 8).end(240, 1); // 20 s an item
    const smoothed = SMOOTHING * 20 + (1 - SMOOTHING) * 10;
    expect(run.stats.devices[0]?.batches.secondsPerItem).toBeCloseTo(smoothed, 6);
    expect(run.eta(240)).toBeCloseTo(8 * smoothed, 6);
  });

  it('counts a running batch from when the one before it ended, not from when it was sent', () => {
    // Batch 1 waited behind batch 0 from 0 s to 80 s: at 120 s it has run 40 s, not 120.
    const run = new Timeline(16, 1).send(0, 0, 0, 0, 8).send(0, 0, 0, 1, 8).end(80, 0);
    expect(run.eta(120)).toBeCloseTo(40, 6);
  });

  it('failed items count as settled: a run whose items all fail fast still reaches 0', () => {
    const run = new Timeline(8, 1).send(0, 0, 0, 0, 4).send(0, 0, 0, 1, 4).end(1, 0, 4).end(2, 1, 4);
    expect(run.eta(2)).toBe(0);
    expect(run.line(2)).toMatch(/^8\/8 items \(100\.0%\) · 8 failed · 4\.0 items\/s · elapsed 2s · ETA 0s$/);
  });

  it('a batch taken back unstarted no longer counts on its replica, and does not end there', () => {
    const timeline = new BatchTimeline();
    timeline.sent(0, 0, 8, 0);
    timeline.sent(0, 1, 8, 0);
    timeline.takenBack(0, 1);
    timeline.ended(0, 0, 80_000);
    expect(timeline.running()).toEqual([]); // batch 1 left; nothing else was held
    expect(timeline.secondsPerItem).toBeCloseTo(10, 6);
    timeline.ended(0, 1, 90_000); // never ran here: ignored
    expect(timeline.secondsPerItem).toBeCloseTo(10, 6);
  });

  it('a lost replica adds nothing: its batches will not end there, and a late result from it is ignored', () => {
    const run = new Timeline(32, 2).send(0, 0, 0, 0, 8).send(0, 1, 0, 1, 8).end(80, 0).end(80, 1);
    run.send(80, 0, 0, 2, 8).send(80, 1, 0, 3, 8).lose(1, 0);
    // One replica left at 10 s an item: 16 items, 8 of them under way for 40 s.
    expect(run.eta(120)).toBeCloseTo(120, 6);
    run.end(130, 3); // the lost replica's batch, answered late: dropped by the session, ignored here
    expect(run.stats.devices[1]?.batches.secondsPerItem).toBeCloseTo(10, 6);
  });

  it('uses each device its own speed, and the mean of the others for a device whose first batch still runs', () => {
    // cpu:0 at 1 s an item, cpu:1 at 4 s; cpu:2 started late and has no batch ended yet.
    const run = new Timeline(100, 3).send(0, 0, 0, 0, 8).send(0, 1, 0, 1, 8).end(8, 0).end(32, 1);
    run.send(8, 0, 0, 2, 8).send(32, 1, 0, 3, 8).send(32, 2, 0, 4, 8);
    const rate = 1 / 1 + 1 / 4 + 1 / 2.5;
    const underway = 8 + 0 + 0; // at 32 s: cpu:0's batch 2 has run 24 s (capped at its 8 items)
    expect(estimate(run.stats, run.at(32)).itemsPerSecond).toBeCloseTo(rate, 6);
    expect(run.eta(32)).toBeCloseTo((100 - 16 - underway) / rate, 6);
  });
});
