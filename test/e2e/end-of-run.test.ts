/**
 * No device idles at the end of a run while another holds work it could do (issue 11): heavy
 * items spread over both devices, and a batch waiting unstarted on one device is taken back for
 * the other. Counts and placement only: no wall-clock bounds.
 */
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { fixture, jsonlItems, logLines, readOutput, runCli, scratchDir } from '../helpers/cli.js';

function devicesOf(lines: { device: string }[]): Map<string, number> {
  const counts = new Map<string, number>();
  for (const line of lines) counts.set(line.device, (counts.get(line.device) ?? 0) + 1);
  return counts;
}

describe('the end of a run', () => {
  it('12 items of 1 s on cpu:2 with the default options: each device writes 6, give or take one', async () => {
    const dir = scratchDir();
    const inputs = path.join(dir, 'heavy.jsonl');
    writeFileSync(inputs, jsonlItems(12, (index) => ({ id: `heavy-${index}`, seconds: 1 })));
    const output = path.join(dir, 'out.jsonl');
    const result = await runCli(['--script', fixture('costs.py'), '--inputs', inputs, '--output', output, '--gpus', 'cpu:2', '--opt', `log=${path.join(dir, 'log')}`]);
    expect(result.exitCode, result.stderr).toBe(0);
    const lines = readOutput(output);
    expect(lines).toHaveLength(12);
    for (const count of devicesOf(lines).values()) expect(Math.abs(count - 6)).toBeLessThanOrEqual(1);
  });

  it('a device that has finished its share takes back batches waiting unstarted on the other; each item runs once', async () => {
    const dir = scratchDir();
    const inputs = path.join(dir, 'mixed.jsonl');
    // cpu:1 starts 3 s late, so cpu:0 alone takes the 8 slow items (4 batches of 2, prefetch 4);
    // cpu:1 then finishes the 8 bad ones at once and has nothing, while batches wait on cpu:0.
    writeFileSync(inputs, jsonlItems(16, (index) => (index < 8 ? { id: `slow-${index}`, seconds: 1 } : { id: `bad-${index}`, bad: true })));
    const output = path.join(dir, 'out.jsonl');
    const log = path.join(dir, 'log');
    const result = await runCli(['--script', fixture('costs.py'), '--inputs', inputs, '--output', output, '--gpus', 'cpu:2', '--batch-size', '2', '--prefetch', '4', '--opt', `log=${log}`, '--opt', 'late=cpu:1:3']);
    expect(result.exitCode, result.stderr).toBe(1); // the bad items failed
    const lines = readOutput(output);
    expect(lines.map((line) => line.id).sort()).toEqual([...Array.from({ length: 8 }, (_, i) => `slow-${i}`), ...Array.from({ length: 8 }, (_, i) => `bad-${i + 8}`)].sort());
    const slowOn = devicesOf(lines.filter((line) => line.id.startsWith('slow-')));
    expect(slowOn.get('cpu:1') ?? 0, `slow items by device: ${JSON.stringify([...slowOn])}`).toBeGreaterThanOrEqual(2); // taken back from cpu:0
    const ran = logLines(log).map((line) => line.split(' ')[2]);
    expect(ran.filter((id) => id?.startsWith('slow-')).sort()).toEqual(Array.from({ length: 8 }, (_, i) => `slow-${i}`)); // none ran twice
  });

  it('40 items whose first 20 fail at once: the device that failed them runs slow items too', async () => {
    const dir = scratchDir();
    const inputs = path.join(dir, 'bad-first.jsonl');
    writeFileSync(inputs, jsonlItems(40, (index) => (index < 20 ? { id: `bad-${index}`, bad: true } : { id: `slow-${index}`, seconds: 0.5 })));
    const output = path.join(dir, 'out.jsonl');
    const result = await runCli(['--script', fixture('costs.py'), '--inputs', inputs, '--output', output, '--gpus', 'cpu:2', '--opt', `log=${path.join(dir, 'log')}`]);
    expect(result.exitCode, result.stderr).toBe(1);
    const lines = readOutput(output);
    expect(lines).toHaveLength(40);
    const slowOn = devicesOf(lines.filter((line) => line.id.startsWith('slow-')));
    expect([...slowOn.keys()].sort(), JSON.stringify([...slowOn])).toEqual(['cpu:0', 'cpu:1']);
    for (const count of slowOn.values()) expect(count).toBeGreaterThanOrEqual(5);
  });
});
