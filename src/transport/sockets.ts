/**
 * The controller's sockets. One PULL for events (every replica and host connects a PUSH to it)
 * and one PUSH per replica for tasks, so the scheduler decides which replica gets which batch.
 * Endpoints are ipc:// files in the run's private folder (mode 0700): no other user can connect.
 */
import path from 'node:path';
import { Pull, Push } from 'zeromq';
import { decode, encode } from './codec.js';
import { MAX_EVENT_BYTES, parseEvent, type TaskMessage, type WorkerEvent } from './messages.js';

export type Received = { ok: true; event: WorkerEvent } | { ok: false; reason: string };

export class Transport {
  private readonly tasks = new Map<string, Push>();
  private closed = false;

  private constructor(
    readonly runDir: string,
    private readonly events: Pull,
  ) {}

  get eventsEndpoint(): string {
    return `ipc://${path.join(this.runDir, 'events')}`;
  }

  taskEndpoint(device: number, replica: number): string {
    return `ipc://${path.join(this.runDir, `task-${device}-${replica}`)}`;
  }

  static async open(runDir: string, replicas: { device: number; replica: number }[]): Promise<Transport> {
    const events = new Pull({ maxMessageSize: MAX_EVENT_BYTES, linger: 0 });
    const transport = new Transport(runDir, events);
    await events.bind(transport.eventsEndpoint);
    for (const { device, replica } of replicas) {
      // Credit bounds what a replica holds, so the high-water mark never binds in practice;
      // sendTimeout stops a send to a replica that died from waiting forever.
      const push = new Push({ linger: 0, sendTimeout: 10_000 });
      await push.bind(transport.taskEndpoint(device, replica));
      transport.tasks.set(`${device}/${replica}`, push);
    }
    return transport;
  }

  async send(device: number, replica: number, message: TaskMessage): Promise<void> {
    const push = this.tasks.get(`${device}/${replica}`);
    if (!push) throw new Error(`no task socket for device ${device} replica ${replica}`);
    await push.send(encode(message));
  }

  /** Sends to a replica that may be gone: never waits, never throws. */
  trySend(device: number, replica: number, message: TaskMessage): void {
    const push = this.tasks.get(`${device}/${replica}`);
    if (!push || push.closed) return;
    push.send(encode(message)).catch(() => undefined);
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
    for (const push of this.tasks.values()) push.close();
    this.events.close();
  }
}
