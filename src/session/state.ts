/**
 * A run session's state, built complete by openSession(): every part exists from the start, so
 * no handler has to ask whether the transport or the fleet is there yet.
 */
import type { Device } from '../devices/devices.js';
import type { GpuOrchestrateError } from '../errors.js';
import type { InputSource } from '../inputs/read-inputs.js';
import type { Journal } from '../journal/journal.js';
import type { ResumePlan } from '../journal/resume.js';
import type { RunConfig } from '../options/config.js';
import { RunRecord } from '../report/run-record.js';
import { DeviceStats, RunStats } from '../progress/stats.js';
import { chooseView, type ProgressView } from '../progress/views.js';
import { ReplicaGrowth } from '../scheduler/replica-growth.js';
import type { ReplicaPlan } from '../scheduler/replica-plan.js';
import { RestartPolicy } from '../scheduler/restarts.js';
import { Scheduler } from '../scheduler/scheduler.js';
import type { SessionTransport } from '../transport/sockets.js';
import { AsyncQueue } from '../util/async-queue.js';
import { Fleet } from '../workers/fleet.js';
import { HEARTBEAT_TIMEOUT_MS } from '../workers/liveness.js';
import type { LoopEvent } from './events.js';
import { InputFeed } from './feed.js';
import { OutputTails } from './output-tails.js';
import type { Clock, SessionPorts } from './ports.js';
import { Warnings } from './warnings.js';

/** How long a host's exit waits before it is handled: lets its replicas' last messages arrive first. */
const HOST_EXIT_SETTLE_MS = 500;
/** Items read ahead of what is handed out, at least: enough for a few event-loop turns of batches. */
const READ_AHEAD_MIN = 4096;

/** The run's inputs, as run.ts opened them. */
export interface SessionInputs {
  source: InputSource;
  limit: number | undefined;
  /** Items this run will do, when a count told (a file's lines, a resume's check); undefined until the inputs end. */
  expected: number | undefined;
  /** A resume: what the output says of each item. */
  status?: ResumePlan['status'];
  /** A resume: the items the output held before this run, kept (for the message of a write that fails). */
  held?: number;
}

export interface SessionIo {
  stderr: (text: string) => void;
  isTTY: boolean;
  /** The command line as typed, to print how to resume or retry. */
  argv: string[];
}

/** What a session is made from: the run's config and what run.ts found before any device started. */
export interface SessionSetup {
  config: RunConfig;
  io: SessionIo;
  devices: Device[];
  inputs: SessionInputs;
  journal: Journal;
  threadsPerReplica: number;
  /** How many replicas each device starts with, its replica slots, and which grow (auto). */
  plan: ReplicaPlan;
  /** What the run writes, kept for the CI reports (run.ts writes them); a fresh one when absent. */
  record?: RunRecord;
}

export interface DeviceEntry {
  device: Device;
  stats: DeviceStats;
}

/** What changes as the run goes: how it is ending, and what it has seen. */
export interface RunFlags {
  /** Ctrl-C once (or --max-failures reached): no new work; in-flight batches get until graceDeadline. */
  draining: boolean;
  /** What started the draining: a signal, or --max-failures (which ends the run with exit 1, not 130). */
  drainCause: 'signal' | 'max-failures' | undefined;
  graceDeadline: number;
  /** Ctrl-C twice: stop at once. */
  abortNow: boolean;
  /** Why the run cannot go on, once it cannot. */
  fatal: GpuOrchestrateError | undefined;
  everReady: boolean;
  /** "device/replica" of replicas whose setup() raised before any replica was ready. */
  setupFailed: Set<string>;
  /** When hosts started elsewhere must have checked in (check-in.ts); undefined once checked, or for a run on this machine. */
  checkInBy: number | undefined;
}

export interface Session {
  readonly config: RunConfig;
  readonly io: SessionIo;
  /** Replica slots per device: the most replicas a device may have. */
  readonly slotsPerDevice: number;
  readonly devices: readonly DeviceEntry[];
  /** The items the run holds (read ahead, in flight, to retry), by ordinal; and the reading of the rest. */
  readonly feed: InputFeed;
  readonly inputs: SessionInputs;
  readonly journal: Journal;
  readonly record: RunRecord;
  readonly scheduler: Scheduler;
  readonly restarts: RestartPolicy;
  readonly growth: ReplicaGrowth;
  readonly stats: RunStats;
  readonly view: ProgressView;
  readonly warnings: Warnings;
  readonly tails: OutputTails;
  readonly transport: SessionTransport;
  readonly fleet: Fleet;
  readonly clock: Clock;
  readonly queue: AsyncQueue<LoopEvent>;
  readonly flags: RunFlags;
}

function checkInDeadline(config: RunConfig, now: number): number | undefined {
  const launch = config.launch;
  return launch === undefined || launch.launcher === 'local' ? undefined : now + launch.startTimeoutSeconds * 1000;
}

/** A replica slot: one replica of one device. */
export interface Slot {
  device: number;
  replica: number;
}

export function slotsOf(devices: readonly Device[], slotsPerDevice: number): Slot[] {
  return devices.flatMap((device) => Array.from({ length: slotsPerDevice }, (_, replica) => ({ device: device.index, replica })));
}

/** Opens the sockets and builds the session around them; starts no process. */
export async function openSession(setup: SessionSetup, ports: SessionPorts): Promise<Session> {
  const { config, plan } = setup;
  const slotsPerDevice = plan.slotsPerDevice;
  const transport = await ports.openTransport({ listen: config.listen });
  if (transport.listening && !config.quiet) setup.io.stderr(`listening on ${transport.listening}; only this run's device hosts can connect (CURVE, keys made for this run)\n`);
  const scheduler = new Scheduler(undefined, { batchSize: config.batchSize, prefetch: config.prefetch, retries: config.retries });
  if (setup.inputs.expected !== undefined) scheduler.expect(setup.inputs.expected);
  const readAhead = Math.max(READ_AHEAD_MIN, 2 * setup.devices.length * slotsPerDevice * config.prefetch * config.batchSize);
  const feed = new InputFeed(setup.inputs.source, { limit: setup.inputs.limit, readAhead, status: setup.inputs.status });
  const growth = new ReplicaGrowth(plan, config.memoryHeadroomBytes);
  const devices = setup.devices.map((device) => {
    const stats = new DeviceStats(device.label, plan.initial[device.index] ?? slotsPerDevice, config.batchSize);
    stats.replicaDecision = growth.decisions[device.index];
    return { device, stats };
  });
  const stats = new RunStats(setup.inputs.expected, devices.map((entry) => entry.stats));
  const record = setup.record ?? new RunRecord(false);
  record.watch(stats);
  const view = chooseView(stats, { quiet: config.quiet, tty: setup.io.isTTY, write: (line) => setup.io.stderr(`${line}\n`) });
  const tails = new OutputTails(view, config.verbose);
  const queue = new AsyncQueue<LoopEvent>();
  const fleet = new Fleet(setup.devices, transport, ports.launcher, {
    initialReplicas: (device) => plan.initial[device] ?? 0,
    template: { python: config.python, script: config.script, options: config.options, threadsPerReplica: setup.threadsPerReplica, slotsPerDevice, heartbeatTimeoutMs: HEARTBEAT_TIMEOUT_MS },
    onOutput: (device, line) => tails.line(device, line),
    onHostExit: (exit) => ports.clock.after(HOST_EXIT_SETTLE_MS, () => queue.push({ type: 'host-exit', exit })),
  });
  // Replicas beyond the initial ones are added as the run grows (--workers-per-gpu auto).
  for (const { device, replica } of slotsOf(setup.devices, slotsPerDevice)) if (replica < (plan.initial[device] ?? 0)) scheduler.addReplica(device, replica);
  return {
    config,
    io: setup.io,
    slotsPerDevice,
    devices,
    feed,
    inputs: setup.inputs,
    journal: setup.journal,
    record,
    scheduler,
    restarts: new RestartPolicy(),
    growth,
    stats,
    view,
    warnings: new Warnings(view),
    tails,
    transport,
    fleet,
    clock: ports.clock,
    queue,
    flags: { draining: false, drainCause: undefined, graceDeadline: Infinity, abortNow: false, fatal: undefined, everReady: false, setupFailed: new Set(), checkInBy: checkInDeadline(config, ports.clock.now()) },
  };
}
