/** The end-of-run summary: a table per device, the totals and the wall time. */
import { formatBytes } from '../util/format-bytes.js';
import { formatDuration, formatSpeed, type RunStats } from './stats.js';

// items: settled (ok or failed); failed: how many of them failed.
export const SUMMARY_HEADER = ['device', 'replicas', 'items', 'failed', 'retried', 'restarts', 'speed', 'batch', 'peak mem'];

/** A row per device, in SUMMARY_HEADER's columns (also the Markdown table of src/report/github.ts). */
export function summaryRows(stats: RunStats, now: number): string[][] {
  return stats.devices.map((device) => [
    device.state === 'out' ? `${device.label} (out)` : device.label,
    String(device.replicas),
    String(device.settled),
    String(device.failed),
    String(device.retries),
    String(device.restarts),
    formatSpeed(device.rate(now)),
    String(device.batchSize),
    // The device's peak (GPU memory; on a CPU device the PSS of its host and replicas).
    device.memory ? formatBytes(device.peakMemoryUsed) : '--',
  ]);
}

/** The totals line: `14 items (10 ok, 4 failed) in 2m09s (9.2 s/item overall); failed by reason: ...`. */
export function totalsLine(stats: RunStats, now: number): string {
  const wall = (now - stats.startedAt) / 1000;
  const reasons = [...stats.failuresByReason].sort((a, b) => b[1] - a[1]).map(([reason, count]) => `${reason}: ${count}`);
  const byReason = stats.failed > 0 ? `; failed by reason: ${reasons.join(', ')}` : '';
  const speed = formatSpeed(wall > 0 ? stats.settled / wall : undefined);
  return `${stats.settled} items (${stats.done} ok, ${stats.failed} failed) in ${formatDuration(wall)} (${speed} overall)${byReason}`;
}

export function summaryTable(stats: RunStats, now: number): string {
  const header = SUMMARY_HEADER;
  const rows = summaryRows(stats, now);
  const widths = header.map((title, column) => Math.max(title.length, ...rows.map((row) => (row[column] ?? '').length)));
  const format = (row: string[]) => row.map((cell, column) => (column === 0 ? cell.padEnd(widths[column] ?? 0) : cell.padStart(widths[column] ?? 0))).join('  ');
  const lines = [format(header), ...rows.map(format)];
  lines.push('', totalsLine(stats, now), ...summaryNotes(stats));
  return lines.join('\n');
}

/** What was decided per device (replica counts under auto, lowered batch sizes, a device taken out). */
export function summaryNotes(stats: RunStats): string[] {
  const notes = stats.devices.filter((device) => device.replicaDecision).map((device) => `${device.label}: ${device.replicaDecision}`);
  notes.push(...stats.devices.filter((device) => device.note).map((device) => `${device.label}: ${device.note}`));
  return notes;
}
