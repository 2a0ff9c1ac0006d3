/**
 * What the progress rows, the line view and the summary say: items settled (ok or failed) as
 * progress, seconds per item for a slow model, and rows that say what their numbers are.
 */
import { describe, expect, it } from 'vitest';
import { DeviceStats, RunStats, deviceLine, formatSpeed, overallLine } from '../../src/progress/stats.js';
import { summaryTable } from '../../src/progress/summary.js';
import { LineView } from '../../src/progress/views.js';

interface DeviceSpec {
  label: string;
  ok: number;
  failed: number;
  /** When its first replica was ready and when it finished, in ms after the run started (unfinished: running). */
  readyAt: number;
  finishedAt?: number;
}

/** A run whose devices wrote `ok` and `failed` lines between the times given. */
function runOf(total: number, specs: DeviceSpec[]): RunStats {
  const stats = new RunStats(total, specs.map((spec) => new DeviceStats(spec.label, 1, 8)));
  specs.forEach((spec, index) => {
    const device = stats.devices[index] as DeviceStats;
    device.state = spec.finishedAt === undefined ? 'running' : 'done';
    device.done = spec.ok;
    device.failed = spec.failed;
    device.firstReadyAt = stats.startedAt + spec.readyAt;
    if (spec.finishedAt !== undefined) device.finishedAt = stats.startedAt + spec.finishedAt;
  });
  return stats;
}

/** The line a log file gets when the line view stops: the final state. */
async function lastLogLine(stats: RunStats): Promise<string> {
  const lines: string[] = [];
  const view = new LineView(stats, (line) => lines.push(line), 60_000);
  view.start();
  await view.stop();
  return lines.at(-1) ?? '';
}

describe('progress counts items settled, ok or failed', () => {
  const finished = () => runOf(14, [{ label: 'cpu:0', ok: 6, failed: 3, readyAt: 0, finishedAt: 12_000 }, { label: 'cpu:1', ok: 4, failed: 1, readyAt: 0, finishedAt: 12_000 }]);

  it('a run with failures reaches 100% on the overall row and in the log', async () => {
    const stats = finished();
    expect(overallLine(stats, stats.startedAt + 12_000)).toMatch(/^14\/14 items \(100\.0%\) · 4 failed · /);
    expect(await lastLogLine(stats)).toMatch(/^\[gpu-orchestrate\] 14\/14 items \(100\.0%\) · 4 failed · /);
  });

  it('the summary says how many items, how many ok and how many failed, and the failures by reason', () => {
    const stats = finished();
    stats.failuresByReason.set('ValueError', 3).set('WorkerDied', 1);
    const summary = summaryTable(stats, stats.startedAt + 12_000);
    expect(summary).toMatch(/^14 items \(10 ok, 4 failed\) in 12s \(1\.2 items\/s overall\); failed by reason: ValueError: 3, WorkerDied: 1$/m);
    // The table's items column counts what each device settled; failed, how many of them failed.
    expect(summary).toMatch(/^cpu:0\s+1\s+9\s+3\s/m);
    expect(summary).toMatch(/^cpu:1\s+1\s+5\s+1\s/m);
  });

  it('a run with no failures says 0 failed and nothing by reason', () => {
    const stats = runOf(4, [{ label: 'cpu:0', ok: 4, failed: 0, readyAt: 0, finishedAt: 2_000 }]);
    expect(summaryTable(stats, stats.startedAt + 2_000)).toMatch(/^4 items \(4 ok, 0 failed\) in 2s \(2\.0 items\/s overall\)$/m);
  });
});

describe('a total not known yet (a folder being walked, standard input being read)', () => {
  it('shows as ?, with the speed but no percentage and no ETA; once known, as before', () => {
    const stats = runOf(0, [{ label: 'cpu:0', ok: 7, failed: 1, readyAt: 0 }]);
    stats.total = undefined;
    stats.devices[0]?.batches.sent(0, 0, 8, stats.startedAt);
    stats.devices[0]?.batches.ended(0, 0, stats.startedAt + 4_000);
    stats.devices[0]?.batches.sent(0, 1, 8, stats.startedAt + 4_000);
    expect(overallLine(stats, stats.startedAt + 5_000)).toBe('8/? items · 1 failed · 2.0 items/s · elapsed 5s · ETA --');
    stats.total = 16;
    expect(overallLine(stats, stats.startedAt + 5_000)).toMatch(/^8\/16 items \(50\.0%\) · 1 failed · 2\.0 items\/s · elapsed 5s · ETA \d+s$/);
  });
});

describe('a slow model is shown in seconds per item, as tqdm does', () => {
  it.each([
    [12.5, '12.5 items/s'],
    [250, '250 items/s'],
    [1, '1.0 items/s'],
    [1 / 9.3, '9.3 s/item'],
    [1 / 250, '250 s/item'],
    [0, '-- items/s'],
    [undefined, '-- items/s'],
  ])('%s items/s reads %s', (rate, text) => {
    expect(formatSpeed(rate)).toBe(text);
  });

  // SAM's image encoder on a CPU: 10 items in 93 s on each device.
  const slow = () => runOf(20, [{ label: 'cpu:0', ok: 10, failed: 0, readyAt: 0, finishedAt: 93_000 }, { label: 'cpu:1', ok: 10, failed: 0, readyAt: 0, finishedAt: 93_000 }]);

  it('in the device rows', () => {
    const stats = slow();
    expect(deviceLine(stats.devices[0] as DeviceStats, stats.startedAt + 93_000)).toContain(' · 9.3 s/item · ');
  });

  it('in the line view', async () => {
    expect(await lastLogLine(slow())).toMatch(/cpu:0 done · 10 done · 9\.3 s\/item/);
  });

  it('in the summary, per device and overall', () => {
    const stats = slow();
    const summary = summaryTable(stats, stats.startedAt + 186_000);
    expect(summary).toMatch(/^device\s+replicas\s+items\s+failed\s+retried\s+restarts\s+speed\s+batch/m);
    expect(summary).toMatch(/^cpu:0\s+1\s+10\s+0\s+0\s+0\s+9\.3 s\/item\s+8\s/m);
    expect(summary).toMatch(/^20 items \(20 ok, 0 failed\) in 3m06s \(9\.3 s\/item overall\)$/m);
  });

  it('a device that has settled nothing yet has no speed, not 0.0', () => {
    const stats = runOf(8, [{ label: 'cpu:0', ok: 0, failed: 0, readyAt: 0 }]);
    expect(deviceLine(stats.devices[0] as DeviceStats, stats.startedAt + 5_000)).toContain(' · -- items/s · ');
  });
});

describe('the line view says what each device number is', () => {
  it('state, then items done (and failed), then speed', async () => {
    const stats = runOf(20, [{ label: 'cpu:0', ok: 8, failed: 0, readyAt: -4_000 }, { label: 'cpu:1', ok: 5, failed: 2, readyAt: -4_000 }]);
    const line = await lastLogLine(stats);
    expect(line).toMatch(/ \| cpu:0 running · 8 done · [\d.]+ items\/s \| cpu:1 running · 7 done \(2 failed\) · [\d.]+ items\/s$/);
    expect(line).not.toMatch(/cpu:0 8 running/);
  });
});
