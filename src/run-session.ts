/**
 * One run's event loop: socket events, process exits, timers and signals come in through one
 * queue and are handled one at a time, so no state is shared between concurrent callbacks.
 * Policies live in src/scheduler/ (what to retry, where, when to restart, when to give up);
 * this module carries them out and writes what they decide.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { Device } from './devices/devices.js';
import { ExitCode, RunAbortedError, SetupError, type GpuOrchestrateError } from './errors.js';
import type { Item } from './inputs/read-inputs.js';
import type { Journal, OutputRecord } from './journal/journal.js';
import type { RunConfig } from './options/config.js';
import { DeviceStats, RunStats } from './progress/stats.js';
import { ReplicaGrowth } from './replica-growth.js';
import type { ReplicaPlan } from './scheduler/replica-plan.js';
import { summaryTable } from './progress/summary.js';
import { chooseView, type ProgressView } from './progress/views.js';
import { RestartPolicy } from './scheduler/restarts.js';
import { Scheduler, type Exhausted, type LossCause } from './scheduler/scheduler.js';
import { batchMessage, type ErrorInfo, type WorkerEvent } from './transport/messages.js';
import { Transport, type Received } from './transport/sockets.js';
import { AsyncQueue } from './util/async-queue.js';
import { describeExit } from './util/describe-exit.js';
import { commandLineWith } from './util/command-line.js';
import type { HostExit } from './workers/device-host.js';
import { Fleet, HEARTBEAT_TIMEOUT_MS } from './workers/fleet.js';

/** The run config, with workersPerGpu the replica slots per device (under auto: the most it may grow to). */
export type SessionConfig = Omit<RunConfig, 'workersPerGpu'> & { workersPerGpu: number };

export interface SessionIo {
  stderr: (text: string) => void;
  isTTY: boolean;
  /** The command line as typed, to print how to resume or retry. */
  argv: string[];
}

type LoopEvent =
  | { type: 'message'; received: Received }
  | { type: 'host-exit'; exit: HostExit }
  | { type: 'signal'; name: NodeJS.Signals }
  | { type: 'tick' }
  | { type: 'restart-replica'; device: number; replica: number; incarnation: number }
  | { type: 'restart-host'; device: number; incarnation: number };

/** How long a host's exit waits before it is handled: lets its replicas' last messages arrive first. */
const HOST_EXIT_SETTLE_MS = 500;
/** After the last result: how long hosts get to stop their replicas cleanly before SIGTERM. */
const STOP_TIMEOUT_MS = 10_000;
const TICK_MS = 250;
/** Lines of a host's output kept to explain its death when not --verbose. */
const OUTPUT_TAIL_LINES = 30;
const MAX_WARNINGS_OF_A_KIND = 10;

export class RunSession {
  private readonly queue = new AsyncQueue<LoopEvent>();
  private readonly scheduler: Scheduler;
  private readonly restarts = new RestartPolicy();
  private readonly stats: RunStats;
  private readonly view: ProgressView;
  private readonly outputTails = new Map<number, string[]>();
  private readonly warningCounts = new Map<string, number>();
  private transport: Transport | undefined;
  private fleet: Fleet | undefined;
  private fatal: GpuOrchestrateError | undefined;
  /** Ctrl-C once: no new work; in-flight batches get until graceDeadline. */
  private draining = false;
  private graceDeadline = Infinity;
  /** Ctrl-C twice: stop at once. */
  private abortNow = false;
  private everReady = false;
  private readonly setupFailed = new Set<string>();
  private growth: ReplicaGrowth | undefined;

  constructor(
    private readonly config: SessionConfig,
    private readonly io: SessionIo,
    private readonly devices: Device[],
    private readonly items: Item[],
    /** Indices of the items this run must do (a resumed run skips what the output holds). */
    todo: number[],
    private readonly journal: Journal,
    private readonly threads: number,
    /** How many replicas each device starts with, and which grow (--workers-per-gpu auto). */
    private readonly plan: ReplicaPlan,
  ) {
    this.scheduler = new Scheduler(todo.length, { batchSize: config.batchSize, prefetch: config.prefetch, retries: config.retries }, todo);
    this.stats = new RunStats(todo.length, devices.map((device) => new DeviceStats(device.label, plan.initial[device.index] ?? config.workersPerGpu, config.batchSize)));
    this.view = chooseView(this.stats, { quiet: config.quiet, tty: io.isTTY });
  }

  private replicaKeys(): { device: number; replica: number }[] {
    return this.devices.flatMap((device) => Array.from({ length: this.config.workersPerGpu }, (_, replica) => ({ device: device.index, replica })));
  }

  async execute(): Promise<number> {
    const runDir = mkdtempSync(path.join(tmpdir(), 'gpu-orchestrate-'));
    const onSignal = (name: NodeJS.Signals) => this.queue.push({ type: 'signal', name });
    process.on('SIGINT', onSignal);
    process.on('SIGTERM', onSignal);
    const ticker = setInterval(() => this.queue.push({ type: 'tick' }), TICK_MS);
    try {
      const transport = await Transport.open(runDir, this.replicaKeys());
      this.transport = transport;
      void transport.receiveLoop((received) => this.queue.push({ type: 'message', received }));
      // Every slot has its socket; replicas beyond the initial ones are added by this.growth.
      for (const { device, replica } of this.replicaKeys()) if (replica < (this.plan.initial[device] ?? 0)) this.scheduler.addReplica(device, replica);
      const fleet = new Fleet(this.devices, this.config.workersPerGpu, transport, (device, generations) => this.launch(device, generations, transport), (exit) =>
        setTimeout(() => this.queue.push({ type: 'host-exit', exit }), HOST_EXIT_SETTLE_MS),
      (device) => this.plan.initial[device] ?? 0);
      this.fleet = fleet;
      this.growth = new ReplicaGrowth(this.plan, this.config.memoryHeadroomBytes, this.stats.devices, (device) => {
        const replica = fleet.addReplica(device);
        if (replica !== undefined) this.scheduler.addReplica(device, replica);
        return replica;
      });
      this.view.start();
      for (const device of this.devices) {
        this.fleet.startHost(device);
        (this.stats.devices[device.index] as DeviceStats).state = 'loading model';
      }
      await this.loop();
      const finishedAt = Date.now(); // rates end with the last result, not with the processes' exit
      for (const stats of this.stats.devices) stats.finishedAt ??= finishedAt;
    } finally {
      clearInterval(ticker);
      // A batch still running when --grace ran out is cut: its replica cannot take a stop
      // message, so waiting STOP_TIMEOUT_MS for a clean stop would only extend the grace.
      const cut = this.draining && this.scheduler.inFlightItems > 0;
      const mode = this.abortNow ? 'kill' : this.fatal || cut ? 'terminate' : 'clean';
      await this.fleet?.stopAll(mode, STOP_TIMEOUT_MS);
      for (const stats of this.stats.devices) {
        stats.finishedAt ??= Date.now();
        // A run stopped by a fatal error did not finish its devices' work: say so, not "done".
        if (stats.state !== 'failed' && stats.state !== 'out') stats.state = this.fatal ? 'stopped' : 'done';
      }
      await this.view.stop();
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
      this.transport?.close();
      this.journal.close();
      rmSync(runDir, { recursive: true, force: true });
    }
    return this.report();
  }

  private launch(device: Device, generations: number[], transport: Transport) {
    return {
      python: this.config.python,
      device,
      replicas: generations.length,
      script: this.config.script,
      eventsEndpoint: transport.eventsEndpoint,
      controlEndpoint: transport.controlEndpoint(device.index),
      taskEndpoints: Array.from({ length: this.config.workersPerGpu }, (_, replica) => transport.taskEndpoint(device.index, replica)),
      generations,
      threadsPerReplica: this.threads,
      options: this.config.options,
      onOutput: (line: string) => this.hostOutput(device, line),
    };
  }

  private report(): number {
    this.stats.endedAt = Date.now();
    if (this.fatal) throw this.fatal;
    const retryHint = commandLineWith(this.io.argv, { add: ['--retry-failed'], remove: ['--overwrite', '--resume'] });
    if (!this.config.quiet) this.io.stderr(`\n${summaryTable(this.stats, this.stats.endedAt)}\n`);
    if (this.draining) {
      const resume = commandLineWith(this.io.argv, { add: ['--resume'], remove: ['--overwrite'] });
      this.io.stderr(`interrupted: ${this.stats.done + this.stats.failed} of ${this.stats.total} items are in ${this.config.output}. To continue:\n  ${resume}\n`);
      return ExitCode.interrupted;
    }
    if (this.stats.failed > 0) {
      this.io.stderr(`${this.stats.failed} item(s) failed: their lines in ${this.config.output} have "ok": false with the error. To run only them again:\n  ${retryHint}\n`);
      return ExitCode.itemsFailed;
    }
    return ExitCode.ok;
  }

  private warn(kind: string, message: string): void {
    const count = (this.warningCounts.get(kind) ?? 0) + 1;
    this.warningCounts.set(kind, count);
    if (count <= MAX_WARNINGS_OF_A_KIND) this.view.log(`warning: ${message}${count === MAX_WARNINGS_OF_A_KIND ? ' (further warnings of this kind are not shown)' : ''}`);
  }

  private hostOutput(device: Device, line: string): void {
    if (this.config.verbose) this.view.log(`[${device.label}] ${line}`);
    const tail = this.outputTails.get(device.index) ?? [];
    tail.push(line);
    if (tail.length > OUTPUT_TAIL_LINES) tail.shift();
    this.outputTails.set(device.index, tail);
  }

  private tailOf(deviceIndex: number): string {
    const tail = this.outputTails.get(deviceIndex);
    return tail && tail.length > 0 ? `\nlast output of that device:\n${tail.map((line) => `  ${line}`).join('\n')}` : '';
  }

  private get finished(): boolean {
    if (this.scheduler.isDone) return true;
    return this.draining && (this.scheduler.inFlightItems === 0 || Date.now() >= this.graceDeadline);
  }

  private async loop(): Promise<void> {
    while (!this.finished && !this.fatal && !this.abortNow) {
      const next = await this.queue.next();
      switch (next.type) {
        case 'message':
          this.onMessage(next.received);
          break;
        case 'host-exit':
          this.onHostExit(next.exit);
          break;
        case 'signal':
          this.onSignal(next.name);
          break;
        case 'tick':
          this.onTick();
          break;
        case 'restart-replica':
          this.onRestartReplica(next.device, next.replica, next.incarnation);
          break;
        case 'restart-host':
          this.onRestartHost(next.device, next.incarnation);
          break;
      }
      if (!this.draining && !this.fatal) this.dispatch();
    }
  }

  private dispatch(): void {
    const transport = this.transport as Transport;
    for (const assignment of this.scheduler.assign(Date.now())) {
      const inputs = assignment.items.map((index) => (this.items[index] as Item).input);
      // Not awaited: a send to a replica that just died must not stall the loop; its exit
      // report puts the batch back.
      transport.send(assignment.device, assignment.replica, batchMessage(assignment.batch, inputs)).catch(() => undefined);
    }
  }

  private onMessage(received: Received): void {
    if (!received.ok) {
      this.warn('malformed', `ignored a malformed message on the events socket (${received.reason})`);
      return;
    }
    const event = received.event;
    const fleet = this.fleet as Fleet;
    const device = this.devices[event.device];
    const stats = this.stats.devices[event.device];
    if (!device || !stats || ('replica' in event && event.replica >= this.config.workersPerGpu)) {
      this.warn('unknown', `ignored a ${event.kind} message for unknown device ${event.device}${'replica' in event ? ` replica ${event.replica}` : ''}`);
      return;
    }
    if (fleet.isRemoved(event.device)) return;
    switch (event.kind) {
      case 'heartbeat':
        if (event.pid === fleet.hostPid(event.device)) fleet.heartbeat(event.device);
        return;
      case 'telemetry':
        stats.recordMemory({ used: event.memory_used, total: event.memory_total, utilization: event.utilization, source: event.source });
        this.growth?.memory(event.device, { used: event.memory_used, free: event.memory_free });
        return;
      case 'shared_error':
        if (!this.everReady) {
          // Nothing ran yet: the script's data cannot be loaded, as it will not be on a retry.
          this.fatal = new SetupError(`${event.error.message} (on ${device.label}); nothing ran.\n${event.error.traceback.trimEnd()}`);
          return;
        }
        this.removeDevice(event.device, `load_shared() failed on its restarted host: ${event.error.message}`, event.error);
        return;
      case 'ready':
        if (!fleet.ready(event.device, event.replica, event.generation, event.pid)) return; // an older start
        this.scheduler.markReady(event.device, event.replica);
        this.restarts.ready(event.device);
        this.growth?.ready(event.device, event.replica);
        this.everReady = true;
        stats.replicasReady += 1;
        stats.state = 'running';
        stats.firstReadyAt ??= Date.now();
        return;
      case 'result':
        this.onResult(event, device, stats);
        return;
      case 'script_error':
        this.fatal = new SetupError(event.error.message + (this.config.verbose ? `\n${event.error.traceback}` : ''));
        return;
      case 'setup_error': {
        this.setupFailed.add(`${event.device}/${event.replica}`);
        const why = `setup() raised ${event.error.type}: ${event.error.message}`;
        const started = this.devices.reduce((sum, { index }) => sum + fleet.activeReplicas(index), 0);
        if (!this.everReady && this.setupFailed.size === started) {
          // Every replica of every device failed the same way before any became ready: a bug in
          // the script or its set-up, not a bad device. Stop now instead of retrying.
          this.fatal = new SetupError(`${why}, on every replica; nothing ran.\n${event.error.traceback.trimEnd()}`);
          return;
        }
        this.replicaDown(event.device, event.replica, 'died', why, event.error);
        return;
      }
      case 'replica_exit': {
        const current = fleet.replica(event.device, event.replica);
        if (!current || current.generation !== event.generation) return; // an older start
        // Python reports a death by signal N as exit code -N; SIGKILL (9) comes from outside.
        const cause = event.exitcode === -9 ? 'killed' : 'died';
        this.replicaDown(event.device, event.replica, cause, `replica ${event.replica} (pid ${event.pid}) ${describeExit(event.exitcode)}`);
        return;
      }
    }
  }

  private record(index: number, device: Device, replica: number, outcome: { ok: true; result: unknown; seconds: number } | { ok: false; error: ErrorInfo; seconds: number }): OutputRecord {
    const item = this.items[index] as Item;
    const where = { device: device.label, replica, attempts: this.scheduler.attempts(index), duration: outcome.seconds };
    return outcome.ok
      ? { id: item.id, input: item.input, ok: true, result: outcome.result, ...where }
      : { id: item.id, input: item.input, ok: false, error: outcome.error, ...where };
  }

  private onResult(event: Extract<WorkerEvent, { kind: 'result' }>, device: Device, stats: DeviceStats): void {
    const itemOutOfMemory = event.outcomes.some((outcome) => !outcome.ok && outcome.oom);
    const indices = this.scheduler.complete(event.batch, event.device, event.replica, Date.now(), { batchSizeHint: event.batch_size_hint, itemOutOfMemory });
    if (!indices) {
      // A batch that was handed back (its replica was given up on) and finished elsewhere: drop
      // it, so each item is written once. A batch id never issued is worth a warning.
      if (event.batch >= this.scheduler.issuedBatches) this.warn('forged', `ignored results for batch ${event.batch} from ${device.label} replica ${event.replica}: no such batch was sent`);
      return;
    }
    this.restarts.progress(event.device, event.replica);
    this.growth?.batchCompleted(event.device, event.replica, indices.length, Date.now());
    const records: OutputRecord[] = [];
    indices.forEach((index, position) => {
      const outcome = event.outcomes[position] ?? {
        ok: false as const,
        error: { type: 'ProtocolError', message: `the replica returned ${event.outcomes.length} outcomes for a batch of ${indices.length}`, traceback: '' },
        seconds: 0,
      };
      if (!outcome.ok && outcome.oom) {
        const exhausted = this.scheduler.handBack(index, event.device);
        if (exhausted) records.push(this.exhaustedRecord(exhausted, device, event.replica, outcome.error));
        else stats.retries += 1;
        return;
      }
      this.scheduler.finish(index);
      records.push(this.record(index, device, event.replica, outcome));
    });
    this.write(records, stats);
    stats.batchSize = this.scheduler.batchSizeFor(event.device);
    const sizes = this.scheduler.batchSizePolicy(event.device);
    if (sizes?.adapted) stats.note = `batch size lowered to ${sizes.lowest} after out-of-memory (now ${sizes.current})`;
    this.stats.firstResultAt ??= Date.now();
  }

  /** Writes lines that all ran on the device `stats` counts for. */
  private write(records: OutputRecord[], stats: DeviceStats): void {
    if (records.length === 0) return;
    this.journal.append(records);
    for (const record of records) {
      if (record.ok) stats.done += 1;
      else {
        stats.failed += 1;
        const reason = record.error?.type ?? 'error';
        this.stats.failuresByReason.set(reason, (this.stats.failuresByReason.get(reason) ?? 0) + 1);
      }
    }
  }

  private exhaustedRecord(exhausted: Exhausted, device: Device, replica: number, lastError?: ErrorInfo): OutputRecord {
    const tried = exhausted.devicesTried.map((index) => this.devices[index]?.label ?? String(index)).join(', ');
    const error: ErrorInfo =
      exhausted.cause === 'out of memory'
        ? { type: 'OutOfMemoryError', message: `out of memory on ${tried} (${exhausted.count} tries), even alone in its batch: ${lastError?.message ?? ''}`.trim(), traceback: lastError?.traceback ?? '' }
        : exhausted.cause === 'timed out'
          ? { type: 'Timeout', message: `timed out after ${this.config.timeoutSeconds} s, ${exhausted.count} times (on ${tried})`, traceback: '' }
          : { type: 'WorkerDied', message: `the worker died ${exhausted.count === 2 ? 'twice' : `${exhausted.count} times`} while running it: ${lastError?.message ?? 'it crashed'} (on ${tried})`, traceback: '' };
    return this.record(exhausted.index, device, replica, { ok: false, error, seconds: 0 });
  }

  /**
   * A replica is gone (died, failed setup, or killed for running past its timeout): its running
   * batch is retried or given up on, and the replica is restarted or its device taken out.
   */
  private replicaDown(deviceIndex: number, replica: number, cause: LossCause, why: string, error?: ErrorInfo): void {
    const fleet = this.fleet as Fleet;
    const process = fleet.replica(deviceIndex, replica);
    if (!process || process.lossHandled) return;
    process.lossHandled = true;
    const device = this.devices[deviceIndex] as Device;
    const stats = this.stats.devices[deviceIndex] as DeviceStats;
    if (process.ready) stats.replicasReady = Math.max(0, stats.replicasReady - 1);
    const signalName = /killed by (\w+)/.exec(why)?.[1];
    const requeued = this.settleLostWork(deviceIndex, replica, cause, signalName ?? why);
    if (this.scheduler.isDone || this.draining) return;
    const back = requeued > 0 ? `; ${requeued} unfinished item(s) go back to the queue` : '';
    this.warn(`down-${deviceIndex}`, `${device.label}: ${why}${back}`);
    if (error && this.config.verbose) this.view.log(error.traceback);
    const decision = this.restarts.lost(deviceIndex, replica, !process.ready, why);
    if (decision.action === 'remove-device') {
      this.removeDevice(deviceIndex, decision.reason, error);
      return;
    }
    stats.state = stats.replicasReady > 0 ? 'running' : 'restarting';
    stats.restarts += 1;
    const incarnation = fleet.hostIncarnation(deviceIndex);
    setTimeout(() => this.queue.push({ type: 'restart-replica', device: deviceIndex, replica, incarnation }), decision.delayMs).unref();
  }

  /**
   * A lost replica's work: its running batch retried or given up on (those lines written, the
   * cause of death in their message), its waiting batches requeued. Returns how many went back.
   */
  private settleLostWork(deviceIndex: number, replica: number, cause: LossCause, death: string): number {
    const device = this.devices[deviceIndex] as Device;
    const stats = this.stats.devices[deviceIndex] as DeviceStats;
    this.growth?.lost(deviceIndex, replica);
    const { requeued, exhausted } = this.scheduler.replicaLost(deviceIndex, replica, cause);
    this.write(exhausted.map((entry) => this.exhaustedRecord(entry, device, replica, { type: cause, message: death, traceback: '' })), stats);
    stats.retries += requeued;
    return requeued;
  }

  private onRestartReplica(deviceIndex: number, replica: number, incarnation: number): void {
    const fleet = this.fleet as Fleet;
    if (this.draining || fleet.isRemoved(deviceIndex) || fleet.hostIncarnation(deviceIndex) !== incarnation) return;
    fleet.restartReplica(deviceIndex, replica);
    this.scheduler.markStarting(deviceIndex, replica);
  }

  private removeDevice(deviceIndex: number, reason: string, error?: ErrorInfo): void {
    const fleet = this.fleet as Fleet;
    const device = this.devices[deviceIndex] as Device;
    const stats = this.stats.devices[deviceIndex] as DeviceStats;
    fleet.removeDevice(deviceIndex);
    this.growth?.removed(deviceIndex);
    for (let replica = 0; replica < this.config.workersPerGpu; replica += 1) this.scheduler.removeReplica(deviceIndex, replica);
    stats.state = 'out';
    stats.note = `taken out of the run: ${reason}`;
    this.view.log(`warning: ${device.label} is taken out of the run: ${reason}. Its work moves to the other devices.`);
    if (this.scheduler.liveReplicas === 0 && !this.scheduler.isDone) {
      const written = this.stats.done + this.stats.failed;
      const detail = error ? `\n${error.traceback.trimEnd()}` : this.tailOf(deviceIndex);
      const message = `no device is left: the last, ${device.label}, ${reason}. ${written} of ${this.stats.total} items are in ${this.config.output}; --resume continues once the cause is fixed.${detail}`;
      this.fatal = written === 0 && error ? new SetupError(message) : new RunAbortedError(message);
    }
  }

  private onHostExit(exit: HostExit): void {
    const fleet = this.fleet as Fleet;
    if (this.scheduler.isDone || this.draining || !fleet.isCurrentHost(exit.device, exit.incarnation)) return;
    const why = `the device host ${describeExit(exit.exitCode, exit.signal)}`;
    let anyReady = false;
    for (let replica = 0; replica < this.config.workersPerGpu; replica += 1) {
      const process = fleet.replica(exit.device, replica);
      anyReady ||= process?.ready ?? false;
      if (process && !process.lossHandled) {
        process.lossHandled = true;
        // Its replicas were killed with it (PR_SET_PDEATHSIG): not of their items' doing.
        this.settleLostWork(exit.device, replica, 'killed', why);
      }
    }
    const stats = this.stats.devices[exit.device] as DeviceStats;
    stats.replicasReady = 0;
    this.warn(`down-${exit.device}`, `${stats.label}: ${why}${this.config.verbose ? '' : this.tailOf(exit.device)}`);
    const decision = this.restarts.lost(exit.device, -1, !anyReady, why);
    if (decision.action === 'remove-device') {
      this.removeDevice(exit.device, decision.reason);
      return;
    }
    stats.state = 'restarting';
    stats.restarts += 1;
    setTimeout(() => this.queue.push({ type: 'restart-host', device: exit.device, incarnation: exit.incarnation }), decision.delayMs).unref();
  }

  private onRestartHost(deviceIndex: number, incarnation: number): void {
    const fleet = this.fleet as Fleet;
    if (this.draining || fleet.isRemoved(deviceIndex) || fleet.hostIncarnation(deviceIndex) !== incarnation) return;
    fleet.startHost(this.devices[deviceIndex] as Device);
    for (let replica = 0; replica < this.config.workersPerGpu; replica += 1) this.scheduler.markStarting(deviceIndex, replica);
  }

  private onTick(): void {
    const fleet = this.fleet as Fleet;
    const now = Date.now();
    if (!this.draining) this.growth?.tick(now, this.scheduler.pendingCount > 0);
    for (const deviceIndex of fleet.silentHosts(now)) {
      if (this.scheduler.isDone || this.draining) break;
      this.warn(`silent-${deviceIndex}`, `${this.devices[deviceIndex]?.label}: the device host (pid ${fleet.hostPid(deviceIndex)}) sent no heartbeat for ${HEARTBEAT_TIMEOUT_MS / 1000} s (hung or stopped); killing it to start it again`);
      fleet.silenceHandled(deviceIndex, now); // once: its exit report follows
      fleet.killHost(deviceIndex);
    }
    if (this.config.timeoutSeconds === undefined || this.draining) return;
    for (const late of this.scheduler.overdue(now, this.config.timeoutSeconds * 1000)) {
      fleet.killReplica(late.device, late.replica);
      this.replicaDown(late.device, late.replica, 'timed out', `replica ${late.replica} ran past its timeout (${this.config.timeoutSeconds} s per item, ${late.items} item(s)) and was killed`);
    }
  }

  private onSignal(name: NodeJS.Signals): void {
    if (this.draining) {
      this.view.log(`${name} again: stopping at once`);
      this.abortNow = true;
      return;
    }
    this.draining = true;
    this.graceDeadline = Date.now() + this.config.graceSeconds * 1000;
    const inFlight = this.scheduler.inFlightItems;
    this.view.log(`${name}: no new work; waiting up to ${this.config.graceSeconds} s for the ${inFlight} item(s) in flight. Press Ctrl-C again to stop at once.`);
  }
}
