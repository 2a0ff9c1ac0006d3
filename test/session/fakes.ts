/**
 * Fakes for the session's ports: sockets that record what is sent and deliver what a test says
 * a replica or host sent (validated like real messages), a launcher whose hosts die when told,
 * a clock that moves only when the test moves it, and signals the test sends.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { Device } from '../../src/devices/devices.js';
import type { InputSource, Item } from '../../src/inputs/read-inputs.js';
import { Journal } from '../../src/journal/journal.js';
import type { HostHandle, HostSpec, Launcher } from '../../src/launch/launcher.js';
import type { RunConfig } from '../../src/options/config.js';
import { planReplicas } from '../../src/scheduler/replica-plan.js';
import type { Clock, SessionPorts } from '../../src/session/ports.js';
import type { SessionSetup } from '../../src/session/state.js';
import { parseEvent, PROTOCOL_VERSION, type HostCommand, type HostPeer, type ReplicaPeer, type TaskMessage } from '../../src/transport/messages.js';
import type { Received, SessionTransport } from '../../src/transport/sockets.js';
import { hostDeath, type Death } from '../../src/workers/death.js';

export class FakeTransport implements SessionTransport {
  readonly access = { endpoint: 'ipc://fake/controller', curve: undefined };
  readonly listening = undefined;
  readonly sent: { device: number; replica: number; generation: number; message: TaskMessage }[] = [];
  readonly takenBack: { device: number; replica: number; batch: number }[] = [];
  readonly commands: { device: number; message: HostCommand }[] = [];
  /** The controller's heartbeats, by host start. */
  readonly heartbeats: HostPeer[] = [];
  readonly forgotten: (ReplicaPeer | HostPeer)[] = [];
  closed = false;
  private deliver: ((received: Received) => void) | undefined;

  async send(to: ReplicaPeer, message: TaskMessage): Promise<void> {
    this.sent.push({ ...to, message });
  }
  trySend(to: ReplicaPeer, message: TaskMessage): void {
    this.sent.push({ ...to, message });
  }
  takeBack(to: ReplicaPeer, batch: number): void {
    this.takenBack.push({ device: to.device, replica: to.replica, batch });
  }
  /** Set by the harness: a host told to shut down exits, as a real one does once its replicas have. */
  onShutdown: (device: number) => void = () => undefined;

  command(to: HostPeer, message: HostCommand): void {
    if (message.kind === 'heartbeat') {
      this.heartbeats.push(to);
      return;
    }
    this.commands.push({ device: to.device, message });
    if (message.kind === 'shutdown') this.onShutdown(to.device);
  }
  forget(peer: ReplicaPeer | HostPeer): void {
    this.forgotten.push(peer);
  }
  async receiveLoop(deliver: (received: Received) => void): Promise<void> {
    this.deliver = deliver;
  }
  close(): void {
    this.closed = true;
  }

  /** A message as a replica or host would send it (the protocol version is added). */
  emit(event: Record<string, unknown>): void {
    if (!this.deliver) throw new Error('the session is not receiving yet');
    this.deliver(parseEvent({ v: PROTOCOL_VERSION, ...event }));
  }

  /** A results message, as a replica sends it: the batches it finished since its last send. */
  results(device: number, replica: number, entries: { batch: number; outcomes: unknown[]; batch_size_hint?: number | null; busy?: number }[]): void {
    this.emit({ kind: 'results', device, replica, results: entries.map((entry) => ({ busy: 0.01, ...entry })) });
  }

  /** Every batch sent, in the order sent (a message may carry several). */
  batches(): { device: number; replica: number; generation: number; batch: number; inputs: unknown[] }[] {
    return this.sent.flatMap(({ device, replica, generation, message }) => (message.kind === 'batches' ? message.batches.map(({ batch, inputs }) => ({ device, replica, generation, batch, inputs })) : []));
  }
}

export class FakeHost implements HostHandle {
  readonly exited: Promise<Death>;
  readonly killedReplicas: number[] = [];
  private settle: (death: Death) => void = () => undefined;

  constructor(
    readonly spec: HostSpec,
    readonly pid: number,
  ) {
    this.exited = new Promise((resolve) => {
      this.settle = resolve;
    });
  }
  /** The host exits: as a real one does when told to stop, or when it is killed. */
  die(exitCode: number | undefined, signal?: string): void {
    this.settle(hostDeath(this.pid, exitCode, signal));
  }
  stop(): void {
    this.die(0);
  }
  kill(): void {
    this.die(undefined, 'SIGKILL');
  }
  killReplica(pid: number): void {
    this.killedReplicas.push(pid);
  }
}

export class FakeLauncher implements Launcher {
  readonly hosts: FakeHost[] = [];
  private nextPid = 1000;

  start(spec: HostSpec): HostHandle {
    const host = new FakeHost(spec, this.nextPid++);
    this.hosts.push(host);
    return host;
  }
  /** The current host of a device. */
  host(device: number): FakeHost {
    const host = this.hosts.filter((candidate) => candidate.spec.device.index === device).at(-1);
    if (!host) throw new Error(`no host was started for device ${device}`);
    return host;
  }
}

/** Time moves only when the test says; timers due by then run in order. */
export class FakeClock implements Clock {
  private time = Date.now(); // the run's stats start from the real clock
  private timers: { at: number; fn: () => void }[] = [];
  private ticks: (() => void)[] = [];

  now(): number {
    return this.time;
  }
  after(ms: number, fn: () => void): void {
    this.timers.push({ at: this.time + ms, fn });
  }
  every(_ms: number, fn: () => void): () => void {
    this.ticks.push(fn);
    return () => {
      this.ticks = this.ticks.filter((tick) => tick !== fn);
    };
  }
  advance(ms: number): void {
    this.time += ms;
    const due = this.timers.filter((timer) => timer.at <= this.time).sort((a, b) => a.at - b.at);
    this.timers = this.timers.filter((timer) => timer.at > this.time);
    for (const timer of due) timer.fn();
  }
  tick(): void {
    for (const fn of this.ticks) fn();
  }
}

export interface Harness {
  ports: SessionPorts;
  transport: FakeTransport;
  launcher: FakeLauncher;
  clock: FakeClock;
  /** Sends a signal the way a terminal's Ctrl-C reaches the controller. */
  signal(name: NodeJS.Signals): void;
  setup: SessionSetup;
  stderr: string[];
  output(): Record<string, unknown>[];
  cleanup(): void;
}

/** Inputs held in memory, read in chunks of `chunk` items as a file would be. */
export function itemsSource(items: Item[], chunk = 1000): InputSource {
  return {
    description: 'test items',
    rereadable: true,
    async *chunks() {
      for (let at = 0; at < items.length; at += chunk) yield items.slice(at, at + chunk);
    },
    count: async () => items.length,
    hasItems: async () => items.length > 0,
    close: () => undefined,
  };
}

export function cpuDevices(count: number): Device[] {
  return Array.from({ length: count }, (_, index) => ({ index, kind: 'cpu' as const, label: `cpu:${index}`, visibleDevices: '' }));
}

export function harness(options: { devices: number; replicas: number; items: number; batchSize: number; prefetch?: number; timeoutSeconds?: number }): Harness {
  const dir = mkdtempSync(path.join(tmpdir(), 'go-session-test-'));
  const outputPath = path.join(dir, 'out.jsonl');
  const transport = new FakeTransport();
  const launcher = new FakeLauncher();
  const clock = new FakeClock();
  let onSignal: ((name: NodeJS.Signals) => void) | undefined;
  const stderr: string[] = [];
  const devices = cpuDevices(options.devices);
  const config: RunConfig = {
    script: '/fake/script.py', inputs: 'fake', output: outputPath, devices: { kind: 'cpu', count: options.devices },
    workersPerGpu: options.replicas, memoryHeadroomBytes: 0, batchSize: options.batchSize, prefetch: options.prefetch ?? 2,
    python: 'python3', options: {}, limit: undefined, retries: 2, timeoutSeconds: options.timeoutSeconds, graceSeconds: 30,
    existingOutput: 'refuse', retryFailed: false, dryRun: false, quiet: false, verbose: false, listen: undefined,
  };
  const items = Array.from({ length: options.items }, (_, index) => ({ id: `item-${index}`, input: index }));
  transport.onShutdown = (device) => launcher.host(device).die(0);
  return {
    ports: {
      openTransport: async () => transport,
      launcher,
      clock,
      onSignal: (handler) => {
        onSignal = handler;
        return () => (onSignal = undefined);
      },
    },
    transport,
    launcher,
    clock,
    signal: (name) => onSignal?.(name),
    setup: {
      config,
      io: { stderr: (text) => stderr.push(text), isTTY: false, argv: ['--output', outputPath] },
      devices,
      inputs: { source: itemsSource(items), limit: undefined, expected: items.length },
      journal: new Journal(outputPath, 'create'),
      threadsPerReplica: 1,
      plan: planReplicas(options.replicas, devices, 2),
    },
    stderr,
    output: () => readFileSync(outputPath, 'utf8').split('\n').filter(Boolean).map((line) => JSON.parse(line) as Record<string, unknown>),
    cleanup: () => rmSync(dir, { recursive: true, force: true }),
  };
}

/** Lets the session's loop take every event queued so far. */
export async function settle(): Promise<void> {
  for (let turn = 0; turn < 5; turn += 1) await new Promise((resolve) => setImmediate(resolve));
}
