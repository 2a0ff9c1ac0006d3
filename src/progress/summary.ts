/** The end-of-run summary: a table per device, the totals and the wall time. */
import { formatBytes } from '../util/format-bytes.js';
import { formatDuration, formatSpeed, type RunStats } from './stats.js';

export function summaryTable(stats: RunStats, now: number): string {
  // items: settled (ok or failed); failed: how many of them failed.
  const header = ['device', 'replicas', 'items', 'failed', 'retried', 'restarts', 'speed', 'batch', 'peak mem'];
  const rows = stats.devices.map((device) => [
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
  const widths = header.map((title, column) => Math.max(title.length, ...rows.map((row) => (row[column] ?? '').length)));
  const format = (row: string[]) => row.map((cell, column) => (column === 0 ? cell.padEnd(widths[column] ?? 0) : cell.padStart(widths[column] ?? 0))).join('  ');
  const wall = (now - stats.startedAt) / 1000;
  const lines = [format(header), ...rows.map(format)];
  const notes = stats.devices.filter((device) => device.note).map((device) => `${device.label}: ${device.note}`);
  notes.unshift(...stats.devices.filter((device) => device.replicaDecision).map((device) => `${device.label}: ${device.replicaDecision}`));
  const reasons = [...stats.failuresByReason].sort((a, b) => b[1] - a[1]).map(([reason, count]) => `${reason}: ${count}`);
  const byReason = stats.failed > 0 ? `; failed by reason: ${reasons.join(', ')}` : '';
  const speed = formatSpeed(wall > 0 ? stats.settled / wall : undefined);
  lines.push('', `${stats.settled} items (${stats.done} ok, ${stats.failed} failed) in ${formatDuration(wall)} (${speed} overall)${byReason}`, ...notes);
  return lines.join('\n');
}
