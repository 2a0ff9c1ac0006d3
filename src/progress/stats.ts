/** Counters the run keeps per device; the progress views and the summary only read them. */
import { formatBytes } from '../util/format-bytes.js';

/** The latest memory reading of a device (telemetry from its host). */
export interface DeviceMemory {
  used: number;
  total: number;
  utilization: number | null;
  /** "pss" on a CPU device: the host's process tree, not the whole machine. */
  source: string;
}

export type DeviceState = 'starting' | 'loading model' | 'running' | 'restarting' | 'done' | 'stopped' | 'failed' | 'out';

export class DeviceStats {
  state: DeviceState = 'starting';
  replicasReady = 0;
  done = 0;
  failed = 0;
  /** Items handed back to the queue (their replica died or timed out, or they ran out of memory). */
  retries = 0;
  restarts = 0;
  batchSize: number;
  firstReadyAt: number | undefined;
  finishedAt: number | undefined;
  note: string | undefined;
  memory: DeviceMemory | undefined;
  /** The most memory in use the device reported during the run, in bytes. */
  peakMemoryUsed = 0;
  /** How the replica count was decided (--workers-per-gpu auto), for the row and the summary. */
  replicaDecision: string | undefined;

  constructor(
    readonly label: string,
    /** Replicas started on the device: grows under --workers-per-gpu auto. */
    public replicas: number,
    batchSize: number,
  ) {
    this.batchSize = batchSize;
  }

  recordMemory(memory: DeviceMemory): void {
    this.memory = memory;
    this.peakMemoryUsed = Math.max(this.peakMemoryUsed, memory.used);
  }

  /** Items per second since the device's first replica became ready. */
  rate(now: number): number {
    if (this.firstReadyAt === undefined) return 0;
    const seconds = ((this.finishedAt ?? now) - this.firstReadyAt) / 1000;
    return seconds > 0 ? this.done / seconds : 0;
  }
}

export class RunStats {
  readonly startedAt = Date.now();
  endedAt: number | undefined;
  firstResultAt: number | undefined;
  /** Failed items by error type (ValueError, OutOfMemoryError, WorkerDied, Timeout, ...). */
  readonly failuresByReason = new Map<string, number>();

  constructor(
    readonly total: number,
    readonly devices: DeviceStats[],
  ) {}

  get done(): number {
    return this.devices.reduce((sum, device) => sum + device.done, 0);
  }

  get failed(): number {
    return this.devices.reduce((sum, device) => sum + device.failed, 0);
  }

  /** Seconds to go at the rate since the first result; undefined until there is a rate. */
  eta(now: number): number | undefined {
    const done = this.done;
    if (this.firstResultAt === undefined || done === 0) return undefined;
    const seconds = (now - this.firstResultAt) / 1000;
    if (seconds <= 0) return undefined;
    return (this.total - done) / (done / seconds);
  }
}

export function formatDuration(seconds: number | undefined): string {
  if (seconds === undefined || !Number.isFinite(seconds)) return '--';
  const s = Math.round(seconds);
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s`;
  return `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m`;
}

export function formatRate(rate: number): string {
  return rate >= 100 ? rate.toFixed(0) : rate.toFixed(1);
}

export function deviceLine(device: DeviceStats, now: number): string {
  const parts = [`${device.label}`, device.state];
  if (device.state === 'loading model' || device.state === 'starting') parts.push(`${device.replicasReady}/${device.replicas} replicas ready`);
  parts.push(`${device.done} done`);
  if (device.failed > 0) parts.push(`${device.failed} failed`);
  if (device.restarts > 0) parts.push(`${device.restarts} restart(s)`);
  parts.push(`${formatRate(device.rate(now))} items/s`, `batch ${device.batchSize}`);
  if (device.memory) parts.push(memoryText(device.memory));
  if (device.replicaDecision) parts.push(device.replicaDecision);
  if (device.note) parts.push(device.note);
  return parts.join(' · ');
}

export function memoryText(memory: DeviceMemory): string {
  const utilization = memory.utilization === null ? '' : ` ${Math.round(memory.utilization)}%`;
  return `mem ${formatBytes(memory.used)}/${formatBytes(memory.total)}${memory.source === 'pss' ? ' (PSS)' : ''}${utilization}`;
}

export function overallLine(stats: RunStats, now: number): string {
  const done = stats.done;
  const percent = stats.total > 0 ? (100 * done) / stats.total : 100;
  const failed = stats.failed > 0 ? ` · ${stats.failed} failed` : '';
  return `${done}/${stats.total} items (${percent.toFixed(1)}%)${failed} · elapsed ${formatDuration((now - stats.startedAt) / 1000)} · ETA ${formatDuration(stats.eta(now))}`;
}
