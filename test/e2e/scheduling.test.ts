/**
 * Dynamic scheduling through the real CLI: a faster device asks more often, so it does more of
 * the work and no device idles behind the other at the end. Judged by the timestamps the
 * replicas record (test/fixtures/slow_device.py), never by the test's own clock.
 */
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { itemsFile } from '../helpers/checks.js';
import { fixture, logLines, runCli, scratchDir } from '../helpers/cli.js';

interface Batch {
  device: number;
  start: number;
  end: number;
  count: number;
}

const ITEMS = 160;

describe('dynamic scheduling', () => {
  it('a device three times faster does its share of the items, and both finish together', async () => {
    const dir = scratchDir();
    const log = path.join(dir, 'batches.log');
    const output = path.join(dir, 'out.jsonl');
    // The fixture's devices start together (a barrier after setup), so a slow start-up does not decide the shares.
    const result = await runCli(['--script', fixture('slow_device.py'), '--inputs', itemsFile(dir, ITEMS), '--output', output, '--gpus', 'cpu:2', '--batch-size', '2', '--opt', `log=${log}`, '--opt', 'devices=2']);
    expect(result.exitCode, result.stderr).toBe(0);
    const batches: Batch[] = logLines(log).map((line) => {
      const [device, start, end, count] = line.split(' ').map(Number) as [number, number, number, number];
      return { device, start, end, count };
    });
    const of = (device: number) => batches.filter((batch) => batch.device === device);
    const items = (device: number) => of(device).reduce((sum, batch) => sum + batch.count, 0);
    expect(items(0) + items(1)).toBe(ITEMS);

    // Each device's speed as its own batches measured it (a loaded machine stretches the sleeps).
    const speed = (device: number) => items(device) / of(device).reduce((sum, batch) => sum + (batch.end - batch.start), 0);
    const expectedFastShare = speed(1) / (speed(0) + speed(1));
    expect(expectedFastShare, 'the fixture no longer makes device 1 the faster one').toBeGreaterThan(0.6);
    // Busy side by side until the end, each device does work in proportion to its speed. A
    // static split would give each half.
    expect(Math.abs(items(1) / ITEMS - expectedFastShare)).toBeLessThan(0.1);

    // Both finish together: once one device has ended its last batch, the other starts at most
    // what it already held (--prefetch 2: one running, one waiting).
    const lastEnd = (device: number) => Math.max(...of(device).map((batch) => batch.end));
    const [first, other] = lastEnd(0) <= lastEnd(1) ? [0, 1] : [1, 0];
    const startedLate = of(other).filter((batch) => batch.start > lastEnd(first));
    expect(startedLate.length, `device ${other} started ${startedLate.length} batches after device ${first} was done`).toBeLessThanOrEqual(2);
  });
});
