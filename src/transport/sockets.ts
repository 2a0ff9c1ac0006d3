/**
 * The controller's sockets. One PULL for events (every replica and host connects a PUSH to it),
 * one PUSH per replica for tasks, so the scheduler decides which replica gets which batch, one
 * PUSH per host for its commands, and one PUB for take-backs (each replica subscribes to its own
 * topic: a take-back cannot travel on the task socket, behind the very batch it asks back, and a
 * lost one costs nothing, since the batch then runs where it is).
 * Endpoints are ipc:// files in the run's private folder (mode 0700): no other user can connect.
 */
import { rmSync } from 'node:fs';
import path from 'node:path';
import { Publisher, Pull, Push } from 'zeromq';
import { decode, encode } from './codec.js';
import { MAX_EVENT_BYTES, parseEvent, takeBackMessage, takeBackTopic, type HostCommand, type TaskMessage, type WorkerEvent } from './messages.js';
import { makeRunFolder } from './run-folder.js';

export type Received = { ok: true; event: WorkerEvent } | { ok: false; reason: string };

/** What the session and the fleet use of the sockets (tests give them a fake). */
export interface SessionTransport {
  readonly eventsEndpoint: string;
  readonly takeBackEndpoint: string;
  controlEndpoint(device: number): string;
  taskEndpoint(device: number, replica: number): string;
  send(device: number, replica: number, message: TaskMessage): Promise<void>;
  trySend(device: number, replica: number, message: TaskMessage): void;
  /** Ask a replica to give back a batch it has not started; never waits, never throws. */
  takeBack(device: number, replica: number, batch: number): void;
  command(device: number, message: HostCommand): void;
  receiveLoop(deliver: (received: Received) => void): Promise<void>;
  close(): void;
}

/** A replica slot: the task socket of one replica of one device. */
export interface Slot {
  device: number;
  replica: number;
}

/**
 * zeromq.js allows one send in progress per socket ("Socket is busy writing"): sends to one
 * socket are chained so that none is refused, and they leave in the order they were made.
 */
class OrderedSender {
  private last: Promise<void> = Promise.resolve();

  constructor(readonly socket: Push | Publisher) {}

  send(data: Buffer | Buffer[]): Promise<void> {
    const sent = this.last.then(() => this.socket.send(data));
    this.last = sent.catch(() => undefined);
    return sent;
  }
}

export class Transport implements SessionTransport {
  private readonly tasks = new Map<string, OrderedSender>();
  private readonly controls = new Map<number, OrderedSender>();
  private readonly takeBacks = new OrderedSender(new Publisher({ linger: 0 }));
  private closed = false;

  private constructor(
    readonly runDir: string,
    private readonly events: Pull,
  ) {}

  get eventsEndpoint(): string {
    return `ipc://${path.join(this.runDir, 'events')}`;
  }

  get takeBackEndpoint(): string {
    return `ipc://${path.join(this.runDir, 'take-back')}`;
  }

  controlEndpoint(device: number): string {
    return `ipc://${path.join(this.runDir, `host-${device}`)}`;
  }

  taskEndpoint(device: number, replica: number): string {
    return `ipc://${path.join(this.runDir, `task-${device}-${replica}`)}`;
  }

  /**
   * Binds the sockets in a new private run folder (removed by close()). `slots`: every replica
   * slot of the run, those a device may only grow into later (--workers-per-gpu auto) included.
   * A socket bound now and never connected costs an ipc file and nothing else, and binding all
   * of them up front keeps the set of sockets fixed for the run.
   */
  static async open(slots: Slot[]): Promise<Transport> {
    const runDir = makeRunFolder(); // run-folder.ts: also removes the folders of killed runs
    const events = new Pull({ maxMessageSize: MAX_EVENT_BYTES, linger: 0 });
    const transport = new Transport(runDir, events);
    try {
      await transport.bindAll(slots);
    } catch (error) {
      transport.close(); // no socket and no run folder left behind
      throw error;
    }
    return transport;
  }

  private async bindAll(slots: Slot[]): Promise<void> {
    await this.events.bind(this.eventsEndpoint);
    await (this.takeBacks.socket as Publisher).bind(this.takeBackEndpoint);
    for (const device of new Set(slots.map((slot) => slot.device))) {
      // A restarted host connects again to the same endpoint; commands wait for it (no timeout
      // needed: the controller sends few, and never to a host it has given up on).
      const push = new Push({ linger: 0 });
      this.controls.set(device, new OrderedSender(push));
      await push.bind(this.controlEndpoint(device));
    }
    for (const { device, replica } of slots) {
      // Credit bounds what a replica holds, so the high-water mark never binds in practice;
      // sendTimeout stops a send to a replica that died from waiting forever.
      const push = new Push({ linger: 0, sendTimeout: 10_000 });
      this.tasks.set(`${device}/${replica}`, new OrderedSender(push));
      await push.bind(this.taskEndpoint(device, replica));
    }
  }

  async send(device: number, replica: number, message: TaskMessage): Promise<void> {
    const sender = this.tasks.get(`${device}/${replica}`);
    if (!sender) throw new Error(`no task socket for device ${device} replica ${replica}`);
    await sender.send(encode(message));
  }

  /** Sends to a replica that may be gone: never waits, never throws. */
  trySend(device: number, replica: number, message: TaskMessage): void {
    const sender = this.tasks.get(`${device}/${replica}`);
    if (!sender || sender.socket.closed) return;
    sender.send(encode(message)).catch(() => undefined);
  }

  takeBack(device: number, replica: number, batch: number): void {
    if (this.takeBacks.socket.closed) return;
    this.takeBacks.send([Buffer.from(takeBackTopic(device, replica)), encode(takeBackMessage(batch))]).catch(() => undefined);
  }

  /** A command to a device host; never waits, never throws (a dead host's restart reconnects). */
  command(device: number, message: HostCommand): void {
    const sender = this.controls.get(device);
    if (!sender || sender.socket.closed) return;
    sender.send(encode(message)).catch(() => undefined);
  }

  /** Every message that arrives on the events socket, decoded and validated; never throws. */
  async receiveLoop(deliver: (received: Received) => void): Promise<void> {
    try {
      for await (const frames of this.events) {
        if (frames.length !== 1) {
          deliver({ ok: false, reason: `expected one frame, got ${frames.length}` });
          continue;
        }
        let value: unknown;
        try {
          value = decode(frames[0] as Buffer);
        } catch (error) {
          deliver({ ok: false, reason: `not msgpack: ${(error as Error).message}` });
          continue;
        }
        deliver(parseEvent(value));
      }
    } catch (error) {
      if (!this.closed) throw error;
    }
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    for (const sender of [...this.tasks.values(), ...this.controls.values(), this.takeBacks]) sender.socket.close();
    this.events.close();
    rmSync(this.runDir, { recursive: true, force: true });
  }
}
