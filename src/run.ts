/**
 * One run, wired together: inputs -> scheduler -> device hosts -> journal, with progress.
 * The one module that knows all the others; each of them knows none of the rest.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import path from 'node:path';
import { resolveDevices, type Device, type DeviceDiscovery } from './devices/devices.js';
import { systemDiscovery } from './devices/nvidia-smi.js';
import { ExitCode, GpuOrchestrateError, RunAbortedError, SetupError } from './errors.js';
import { readInputs, type Item } from './inputs/read-inputs.js';
import { Journal, type OutputRecord } from './journal/journal.js';
import type { RunConfig } from './options/config.js';
import { DeviceStats, RunStats } from './progress/stats.js';
import { summaryTable } from './progress/summary.js';
import { chooseView, type ProgressView } from './progress/views.js';
import { Scheduler } from './scheduler/scheduler.js';
import { batchMessage, stopMessage, type ErrorInfo, type WorkerEvent } from './transport/messages.js';
import { Transport, type Received } from './transport/sockets.js';
import { AsyncQueue } from './util/async-queue.js';
import { DeviceHost, type HostExit } from './workers/device-host.js';
import { preflight } from './workers/python.js';

export interface RunIo {
  stdout: (text: string) => void;
  stderr: (text: string) => void;
  isTTY: boolean;
  discovery?: DeviceDiscovery;
  stdin?: NodeJS.ReadableStream;
}

type LoopEvent = { type: 'message'; received: Received } | { type: 'host-exit'; exit: HostExit } | { type: 'signal'; name: NodeJS.Signals };

/** How long a host's exit waits before it is handled: lets its replicas' last messages arrive first. */
const HOST_EXIT_SETTLE_MS = 500;
/** After the last result: how long hosts get to stop their replicas cleanly before SIGTERM. */
const STOP_TIMEOUT_MS = 10_000;
/** Lines of a host's output kept to explain its death when not --verbose. */
const OUTPUT_TAIL_LINES = 30;
const MAX_MALFORMED_LOGGED = 10;

export function threadsPerReplica(replicasInRun: number, cores = availableParallelism()): number {
  return Math.max(1, Math.floor(cores / Math.max(1, replicasInRun)));
}

function dryRunReport(config: RunConfig, devices: Device[], items: Item[], description: string, threads: number): string {
  const lines = [
    `script:   ${config.script}`,
    `inputs:   ${items.length} items (${description})`,
    `output:   ${config.output}`,
    `devices:  ${devices.length}`,
    ...devices.map((device) => `  ${device.label}  ${config.workersPerGpu} replica(s), ${threads} CPU thread(s) each, CUDA_VISIBLE_DEVICES=${JSON.stringify(device.visibleDevices)}`),
    `replicas: ${devices.length * config.workersPerGpu} in all; batch size ${config.batchSize}, prefetch ${config.prefetch}`,
    `python:   ${config.python}`,
  ];
  if (Object.keys(config.options).length > 0) lines.push(`options:  ${Object.entries(config.options).map(([k, v]) => `${k}=${v}`).join(' ')}`);
  return `${lines.join('\n')}\n(dry run: nothing was started)\n`;
}

function describeExit(exitcode: number | null | undefined, signal?: string): string {
  if (signal) return `was killed by ${signal}`;
  if (exitcode === null || exitcode === undefined) return 'exited';
  if (exitcode < 0) return `was killed by signal ${-exitcode}`;
  return `exited with code ${exitcode}`;
}

export async function run(config: RunConfig, io: RunIo): Promise<number> {
  const source = await readInputs(config.inputs, io.stdin);
  const items = config.limit === undefined ? source.items : source.items.slice(0, config.limit);
  const { devices, warning } = resolveDevices(config.devices, io.discovery ?? systemDiscovery());
  const threads = threadsPerReplica(devices.length * config.workersPerGpu);
  if (warning) io.stderr(`warning: ${warning}\n`);

  if (config.dryRun) {
    io.stdout(dryRunReport(config, devices, items, source.description, threads));
    return ExitCode.ok;
  }

  await preflight(config.python, config.script);

  if (items.length === 0) {
    writeFileSync(config.output, '');
    io.stderr(`nothing to do: ${source.description} holds no items; wrote an empty ${config.output}\n`);
    return ExitCode.ok;
  }

  return new Run(config, io, devices, items, threads).execute();
}

class Run {
  private readonly queue = new AsyncQueue<LoopEvent>();
  private readonly scheduler: Scheduler;
  private readonly stats: RunStats;
  private readonly view: ProgressView;
  private readonly outputTails = new Map<number, string[]>();
  private readonly hosts: DeviceHost[] = [];
  private transport: Transport | undefined;
  private journal: Journal | undefined;
  private fatal: GpuOrchestrateError | undefined;
  private interrupted = false;
  private malformed = 0;

  constructor(
    private readonly config: RunConfig,
    private readonly io: RunIo,
    private readonly devices: Device[],
    private readonly items: Item[],
    private readonly threads: number,
  ) {
    this.scheduler = new Scheduler(items.length, { batchSize: config.batchSize, prefetch: config.prefetch });
    this.stats = new RunStats(items.length, devices.map((device) => new DeviceStats(device.label, config.workersPerGpu, config.batchSize)));
    this.view = chooseView(this.stats, { quiet: config.quiet, tty: io.isTTY });
  }

  private replicas(): { device: number; replica: number }[] {
    return this.devices.flatMap((device) => Array.from({ length: this.config.workersPerGpu }, (_, replica) => ({ device: device.index, replica })));
  }

  async execute(): Promise<number> {
    const runDir = mkdtempSync(path.join(tmpdir(), 'gpu-orchestrate-'));
    const onSignal = (name: NodeJS.Signals) => this.queue.push({ type: 'signal', name });
    process.on('SIGINT', onSignal);
    process.on('SIGTERM', onSignal);
    try {
      this.journal = new Journal(this.config.output);
      this.transport = await Transport.open(runDir, this.replicas());
      void this.transport.receiveLoop((received) => this.queue.push({ type: 'message', received }));
      for (const { device, replica } of this.replicas()) this.scheduler.addReplica(device, replica);
      this.view.start();
      this.startHosts(this.transport);
      await this.loop(this.transport);
      const finishedAt = Date.now(); // rates end with the last result, not with the processes' exit
      for (const stats of this.stats.devices) stats.finishedAt = finishedAt;
    } finally {
      await this.shutdown();
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
      this.transport?.close();
      this.journal?.close();
      rmSync(runDir, { recursive: true, force: true });
    }
    this.stats.endedAt = Date.now();
    if (this.fatal) throw this.fatal;
    if (!this.config.quiet) this.io.stderr(`\n${summaryTable(this.stats, this.stats.endedAt)}\n`);
    if (this.interrupted) {
      this.io.stderr(`interrupted: ${this.stats.done} of ${this.items.length} items are in ${this.config.output}\n`);
      return ExitCode.interrupted;
    }
    if (this.stats.failed > 0) {
      this.io.stderr(`${this.stats.failed} item(s) failed: their lines in ${this.config.output} have "ok": false with the error and traceback\n`);
      return ExitCode.itemsFailed;
    }
    return ExitCode.ok;
  }

  private startHosts(transport: Transport): void {
    for (const device of this.devices) {
      const host = new DeviceHost({
        python: this.config.python,
        device,
        replicas: this.config.workersPerGpu,
        script: this.config.script,
        eventsEndpoint: transport.eventsEndpoint,
        taskEndpoints: Array.from({ length: this.config.workersPerGpu }, (_, replica) => transport.taskEndpoint(device.index, replica)),
        threadsPerReplica: this.threads,
        options: this.config.options,
        onOutput: (line) => this.hostOutput(device, line),
      });
      this.hosts.push(host);
      const stats = this.stats.devices[device.index];
      if (stats) stats.state = 'loading model';
      void host.exited.then((exit) => setTimeout(() => this.queue.push({ type: 'host-exit', exit }), HOST_EXIT_SETTLE_MS));
    }
  }

  private hostOutput(device: Device, line: string): void {
    if (this.config.verbose) this.view.log(`[${device.label}] ${line}`);
    const tail = this.outputTails.get(device.index) ?? [];
    tail.push(line);
    if (tail.length > OUTPUT_TAIL_LINES) tail.shift();
    this.outputTails.set(device.index, tail);
  }

  private async loop(transport: Transport): Promise<void> {
    while (!this.scheduler.isDone && !this.fatal && !this.interrupted) {
      const next = await this.queue.next();
      if (next.type === 'message') this.onMessage(next.received);
      else if (next.type === 'host-exit') this.onHostExit(next.exit);
      else this.onSignal(next.name);
      if (this.fatal || this.interrupted) break;
      await this.dispatch(transport);
    }
  }

  private async dispatch(transport: Transport): Promise<void> {
    for (const assignment of this.scheduler.assign()) {
      const inputs = assignment.items.map((index) => (this.items[index] as Item).input);
      await transport.send(assignment.device, assignment.replica, batchMessage(assignment.batch, inputs));
    }
  }

  private onMessage(received: Received): void {
    if (!received.ok) {
      this.malformed += 1;
      if (this.malformed <= MAX_MALFORMED_LOGGED) {
        this.view.log(`warning: ignored a malformed message on the events socket (${received.reason})${this.malformed === MAX_MALFORMED_LOGGED ? '; further ones are not shown' : ''}`);
      }
      return;
    }
    const event = received.event;
    const device = this.devices[event.device];
    const stats = this.stats.devices[event.device];
    if (!device || !stats || event.replica >= this.config.workersPerGpu) {
      this.view.log(`warning: ignored a ${event.kind} message for unknown device ${event.device} replica ${event.replica}`);
      return;
    }
    switch (event.kind) {
      case 'ready':
        this.scheduler.markReady(event.device, event.replica);
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
      case 'setup_error':
        this.replicaLost(event.device, event.replica, `setup() raised ${event.error.type}: ${event.error.message}`, event.error);
        return;
      case 'replica_exit':
        if (!this.scheduler.isDone) this.replicaLost(event.device, event.replica, `replica ${event.replica} (pid ${event.pid}) ${describeExit(event.exitcode)}`);
        return;
    }
  }

  private onResult(event: Extract<WorkerEvent, { kind: 'result' }>, device: Device, stats: DeviceStats): void {
    const indices = this.scheduler.complete(event.batch, event.device, event.replica);
    if (!indices) {
      this.view.log(`warning: ignored results for batch ${event.batch} from ${device.label} replica ${event.replica}: that replica does not hold it`);
      return;
    }
    const records: OutputRecord[] = indices.map((index, position) => {
      const item = this.items[index] as Item;
      const outcome = event.outcomes[position] ?? {
        ok: false as const,
        error: { type: 'ProtocolError', message: `the replica returned ${event.outcomes.length} outcomes for a batch of ${indices.length}`, traceback: '' },
        seconds: 0,
      };
      const where = { device: device.label, replica: event.replica, attempts: 1, duration: outcome.seconds };
      return outcome.ok
        ? { id: item.id, input: item.input, ok: true, result: outcome.result, ...where }
        : { id: item.id, input: item.input, ok: false, error: outcome.error, ...where };
    });
    this.journal?.append(records);
    const failed = records.filter((record) => !record.ok).length;
    stats.done += records.length - failed;
    stats.failed += failed;
    this.stats.firstResultAt ??= Date.now();
  }

  private replicaLost(deviceIndex: number, replica: number, why: string, error?: ErrorInfo): void {
    const requeued = this.scheduler.replicaGone(deviceIndex, replica);
    const device = this.devices[deviceIndex] as Device;
    const stats = this.stats.devices[deviceIndex] as DeviceStats;
    const back = requeued.length > 0 ? `; its ${requeued.length} unfinished item(s) go back to the queue` : '';
    this.view.log(`warning: ${device.label}: ${why}${back}`);
    if (error && this.config.verbose) this.view.log(error.traceback);
    stats.note = why;
    if (!this.hasLiveReplica(deviceIndex)) stats.state = 'failed';
    if (this.scheduler.liveReplicas === 0 && !this.scheduler.isDone) {
      const detail = error ? `\n${error.traceback.trimEnd()}` : this.tailOf(deviceIndex);
      const message = `every replica is gone, the last: ${device.label}: ${why}. ${this.stats.done + this.stats.failed} of ${this.items.length} items are in ${this.config.output}.${detail}`;
      this.fatal = error ? new SetupError(message) : new RunAbortedError(message);
    }
  }

  private hasLiveReplica(deviceIndex: number): boolean {
    for (let replica = 0; replica < this.config.workersPerGpu; replica += 1) {
      if (this.scheduler.isLive(deviceIndex, replica)) return true;
    }
    return false;
  }

  private tailOf(deviceIndex: number): string {
    const tail = this.outputTails.get(deviceIndex);
    return tail && tail.length > 0 ? `\nlast output of that device:\n${tail.map((line) => `  ${line}`).join('\n')}` : '';
  }

  private onHostExit(exit: HostExit): void {
    if (this.scheduler.isDone) return;
    const why = `the device host ${describeExit(exit.exitCode, exit.signal)}`;
    for (let replica = 0; replica < this.config.workersPerGpu; replica += 1) {
      if (this.scheduler.isLive(exit.device, replica)) this.replicaLost(exit.device, replica, why);
    }
  }

  private onSignal(name: NodeJS.Signals): void {
    if (this.interrupted) return;
    this.interrupted = true;
    this.view.log(`${name}: stopping every device; press Ctrl-C again to stop at once`);
    process.once('SIGINT', () => process.exit(ExitCode.interrupted));
  }

  /** Stop every host: ask replicas to stop, then SIGTERM (and SIGKILL after a grace) what remains. */
  private async shutdown(): Promise<void> {
    const clean = !this.fatal && !this.interrupted;
    if (this.transport && clean) {
      for (const { device, replica } of this.replicas()) this.transport.trySend(device, replica, stopMessage);
    }
    const allExited = Promise.all(this.hosts.map((host) => host.exited));
    const timedOut = new Promise<'timeout'>((resolve) => setTimeout(() => resolve('timeout'), clean ? STOP_TIMEOUT_MS : 0).unref());
    if ((await Promise.race([allExited, timedOut])) === 'timeout') {
      for (const host of this.hosts) host.stop();
      await allExited;
    }
    for (const stats of this.stats.devices) {
      stats.finishedAt ??= Date.now();
      if (stats.state !== 'failed') stats.state = 'done';
    }
    await this.view.stop();
  }
}
