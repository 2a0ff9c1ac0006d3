/** The end-of-run summary: a table per device, the totals and the wall time. */
import { formatBytes } from '../util/format-bytes.js';
import { formatDuration, formatRate, type RunStats } from './stats.js';

export function summaryTable(stats: RunStats, now: number): string {
  const header = ['device', 'replicas', 'items', 'failed', 'retried', 'restarts', 'items/s', 'batch', 'peak mem'];
  const rows = stats.devices.map((device) => [
    device.state === 'out' ? `${device.label} (out)` : device.label,
    String(device.replicas),
    String(device.done),
    String(device.failed),
    String(device.retries),
    String(device.restarts),
    formatRate(device.rate(now)),
    String(device.batchSize),
    // The device's peak (GPU memory; on a CPU device the PSS of its host and replicas).
    device.memory ? formatBytes(device.peakMemoryUsed) : '--',
  ]);
  const widths = header.map((title, column) => Math.max(title.length, ...rows.map((row) => (row[column] ?? '').length)));
  const format = (row: string[]) => row.map((cell, column) => (column === 0 ? cell.padEnd(widths[column] ?? 0) : cell.padStart(widths[column] ?? 0))).join('  ');
  const wall = (now - stats.startedAt) / 1000;
  const lines = [format(header), ...rows.map(format)];
  const notes = stats.devices.filter((device) => device.note).map((device) => `${device.label}: ${device.note}`);
  notes.unshift(...stats.devices.filter((device) => device.replicaDecision).map((device) => `${device.label}: ${device.replicaDecision}`));
  const reasons = [...stats.failuresByReason].sort((a, b) => b[1] - a[1]).map(([reason, count]) => `${reason}: ${count}`);
  const failed = stats.failed > 0 ? `${stats.failed} failed (${reasons.join(', ')})` : '0 failed';
  lines.push('', `${stats.done} items in ${formatDuration(wall)} (${formatRate(wall > 0 ? stats.done / wall : 0)} items/s overall), ${failed}`, ...notes);
  return lines.join('\n');
}
