/** Counters the run keeps per device; the progress views and the summary only read them. */
import { formatBytes } from '../util/format-bytes.js';
import { BatchTimeline, estimate } from './eta.js';

/** The latest memory reading of a device (telemetry from its host). */
export interface DeviceMemory {
  used: number;
  total: number;
  utilization: number | null;
  /** "pss" on a CPU device: the host's process tree, not the whole machine. */
  source: string;
}

/** 'interrupted': Ctrl-C or SIGTERM ended its work; 'stopped': an error or --max-failures that stopped the run did. */
export type DeviceState = 'starting' | 'loading model' | 'running' | 'restarting' | 'done' | 'interrupted' | 'stopped' | 'failed' | 'out';

export class DeviceStats {
  state: DeviceState = 'starting';
  replicasReady = 0;
  /** Items written ok. */
  done = 0;
  /** Items written as failed. */
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
  /** Its batches as sent and ended, for the ETA. */
  readonly batches = new BatchTimeline();

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

  /** Items written, ok or failed: what the device has finished with. */
  get settled(): number {
    return this.done + this.failed;
  }

  /** Items settled per second since the device's first replica became ready; undefined before one settled. */
  rate(now: number): number | undefined {
    if (this.firstReadyAt === undefined || this.settled === 0) return undefined;
    const seconds = ((this.finishedAt ?? now) - this.firstReadyAt) / 1000;
    return seconds > 0 ? this.settled / seconds : undefined;
  }
}

export class RunStats {
  readonly startedAt = Date.now();
  endedAt: number | undefined;
  firstResultAt: number | undefined;
  /** Failed items by error type (ValueError, OutOfMemoryError, WorkerDied, Timeout, ...). */
  readonly failuresByReason = new Map<string, number>();

  constructor(
    /** Items of the run: undefined while unknown (a folder being walked, standard input being read). */
    public total: number | undefined,
    readonly devices: DeviceStats[],
  ) {}

  get done(): number {
    return this.devices.reduce((sum, device) => sum + device.done, 0);
  }

  get failed(): number {
    return this.devices.reduce((sum, device) => sum + device.failed, 0);
  }

  /** Items written, ok or failed: the progress of the run. */
  get settled(): number {
    return this.done + this.failed;
  }
}

export function formatDuration(seconds: number | undefined): string {
  if (seconds === undefined || !Number.isFinite(seconds)) return '--';
  const s = Math.round(seconds);
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s`;
  return `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m`;
}

/** Items per second, or below one a second seconds per item (as tqdm does): `12.5 items/s`, `9.3 s/item`. */
export function formatSpeed(itemsPerSecond: number | undefined): string {
  if (itemsPerSecond === undefined || !Number.isFinite(itemsPerSecond) || itemsPerSecond <= 0) return '-- items/s';
  if (itemsPerSecond >= 1) return `${itemsPerSecond >= 100 ? itemsPerSecond.toFixed(0) : itemsPerSecond.toFixed(1)} items/s`;
  const seconds = 1 / itemsPerSecond;
  return `${seconds >= 100 ? seconds.toFixed(0) : seconds.toFixed(1)} s/item`;
}

/** "10 done (2 failed)": items settled, and how many of them failed. */
function settledText(device: DeviceStats): string {
  return `${device.settled} done${device.failed > 0 ? ` (${device.failed} failed)` : ''}`;
}

/** A device's row on a terminal. */
export function deviceLine(device: DeviceStats, now: number): string {
  const parts = [`${device.label}`, device.state];
  if (device.state === 'loading model' || device.state === 'starting') parts.push(`${device.replicasReady}/${device.replicas} replicas ready`);
  parts.push(settledText(device));
  if (device.restarts > 0) parts.push(`${device.restarts} restart(s)`);
  parts.push(formatSpeed(device.rate(now)), `batch ${device.batchSize}`);
  if (device.memory) parts.push(memoryText(device.memory));
  if (device.replicaDecision) parts.push(device.replicaDecision);
  if (device.note) parts.push(device.note);
  return parts.join(' · ');
}

/** A device in the line view (a log file): `cpu:0 running · 8 done (1 failed) · 9.3 s/item · mem ...`. */
export function deviceBrief(device: DeviceStats, now: number): string {
  const parts = [`${device.label} ${device.state}`, settledText(device), formatSpeed(device.rate(now))];
  if (device.memory) parts.push(memoryText(device.memory));
  return parts.join(' · ');
}

export function memoryText(memory: DeviceMemory): string {
  const utilization = memory.utilization === null ? '' : ` ${Math.round(memory.utilization)}%`;
  return `mem ${formatBytes(memory.used)}/${formatBytes(memory.total)}${memory.source === 'pss' ? ' (PSS)' : ''}${utilization}`;
}

/** The overall row: items settled (ok or failed) of the run's, so a run with failures ends at 100%. */
export function overallLine(stats: RunStats, now: number): string {
  const { settled, total } = stats;
  // A total not yet known (the inputs are still being read) shows as "?", with no percentage and no ETA.
  const progress = total === undefined ? `${settled}/? items` : `${settled}/${total} items (${(total > 0 ? (100 * settled) / total : 100).toFixed(1)}%)`;
  const failed = stats.failed > 0 ? ` · ${stats.failed} failed` : '';
  const { itemsPerSecond, secondsLeft } = estimate(stats, now);
  const elapsed = (now - stats.startedAt) / 1000;
  // Once every item is settled nothing runs: the speed shown is then the run's, as in the summary.
  const speed = total !== undefined && settled >= total && elapsed > 0 ? settled / elapsed : itemsPerSecond;
  return `${progress}${failed} · ${formatSpeed(speed)} · elapsed ${formatDuration(elapsed)} · ETA ${formatDuration(secondsLeft)}`;
}
