/**
 * The controller's socket: one ROUTER, bound by the controller, whatever the number of devices.
 * Every host and replica connects DEALER sockets to it: for what they send (events), and, named
 * with a routing id (messages.ts), for what they are sent: a replica's batches, its take-backs
 * (a socket of their own, read by a thread of its own: a take-back must not wait behind the very
 * batch it asks back), a host's commands. What is sent to a routing id that cannot be reached
 * yet is held or dropped as outbox.ts says.
 *
 * On one machine the endpoint is an ipc:// file in the run's private folder (mode 0700): no other
 * user can connect. Over TCP (--listen) the socket is a CURVE server with keys made for the run,
 * and a ZAP handler admits only the run's client key (curve.ts); one port in all.
 */
import { rmSync } from 'node:fs';
import path from 'node:path';
import { Context, Router } from 'zeromq';
import { UsageError } from '../errors.js';
import { decode, encode } from './codec.js';
import { makeRunKeys, ZAP_DOMAIN, ZapHandler, type CurveClientKeys } from './curve.js';
import { advertisedEndpoint, bindEndpoint, boundPort, listeningOn, needsIpv6, type ListenAddress } from './listen.js';
import {
  MAX_EVENT_BYTES,
  hostRoute,
  parseEvent,
  takeBackMessage,
  takeBackRoute,
  taskRoute,
  type HostCommand,
  type HostPeer,
  type ReplicaPeer,
  type TaskMessage,
  type WorkerEvent,
} from './messages.js';
import { RouterOutbox } from './outbox.js';
import { makeRunFolder } from './run-folder.js';

export type Received = { ok: true; event: WorkerEvent } | { ok: false; reason: string };

/** What a device host needs to reach the controller, wherever it runs. */
export interface HostAccess {
  endpoint: string;
  /** Over TCP, the run's CURVE keys; none on ipc://. */
  curve: CurveClientKeys | undefined;
}

/** What the session and the fleet use of the sockets (tests give them a fake). */
export interface SessionTransport {
  readonly access: HostAccess;
  /** Over TCP, where the controller listens and where hosts connect, in words; undefined on ipc://. */
  readonly listening: string | undefined;
  /** A batch or `stop` to one start of a replica; held while it cannot be reached. */
  send(to: ReplicaPeer, message: TaskMessage): Promise<void>;
  /** As send(), to a replica that may be gone: never waits, never throws. */
  trySend(to: ReplicaPeer, message: TaskMessage): void;
  /** Ask a replica to give back a batch it has not started; dropped when it cannot be reached; never throws. */
  takeBack(to: ReplicaPeer, batch: number): void;
  /** A command to one start of a device's host; held while it cannot be reached (a heartbeat is dropped); never throws. */
  command(to: HostPeer, message: HostCommand): void;
  /** That replica or host start is gone: drop what still waits for it. */
  forget(peer: ReplicaPeer | HostPeer): void;
  receiveLoop(deliver: (received: Received) => void): Promise<void>;
  close(): void;
}

export interface TransportOptions {
  /** Listen over TCP with CURVE; undefined: ipc:// in the run folder. */
  listen?: ListenAddress;
}

export class Transport implements SessionTransport {
  private readonly outbox: RouterOutbox;
  private zap: ZapHandler | undefined;
  private closed = false;
  access: HostAccess;
  listening: string | undefined;

  private constructor(
    readonly runDir: string,
    private readonly router: Router,
  ) {
    this.outbox = new RouterOutbox(router);
    this.access = { endpoint: `ipc://${path.join(runDir, 'controller')}`, curve: undefined };
  }

  /** Messages held for peers that cannot be reached now (outbox.ts). */
  get waiting(): number {
    return this.outbox.waiting;
  }

  /** Clients that showed a key other than the run's and were refused (ZAP). */
  get refusedConnections(): number {
    return this.zap?.refused ?? 0;
  }

  /** Binds the socket, in a new private run folder (removed by close()). */
  static async open(options: TransportOptions = {}): Promise<Transport> {
    const runDir = makeRunFolder(); // run-folder.ts: also removes the folders of killed runs
    // A context of the run's own: the ZAP handler answers for the sockets of its context only.
    const context = new Context();
    const keys = options.listen ? makeRunKeys() : undefined;
    const router = new Router({
      context,
      linger: 0,
      maxMessageSize: MAX_EVENT_BYTES, // a sender cannot make the controller buffer gigabytes
      mandatory: true, // an unreachable peer is an error, never a silent drop (outbox.ts)
      sendTimeout: 0, // one full peer never blocks the socket for the others
      handover: true, // a peer that reconnects with its routing id takes its address back at once
      ...(keys ? { curveServer: true, curveSecretKey: keys.serverSecret, zapDomain: ZAP_DOMAIN, zapEnforceDomain: true, ipv6: needsIpv6(options.listen as ListenAddress) } : {}),
    });
    const transport = new Transport(runDir, router);
    try {
      if (options.listen && keys) {
        transport.zap = await ZapHandler.start(context, [keys.client.client_public]);
        await router.bind(bindEndpoint(options.listen)).catch((error: Error) => {
          throw new UsageError(`--listen: cannot listen on ${bindEndpoint(options.listen as ListenAddress)} (${error.message}): give an address of this machine (or 0.0.0.0 with --advertise) and a port no other program uses, or none`);
        });
        const port = boundPort(router.lastEndpoint);
        const bound = listeningOn(options.listen, port);
        transport.access = { endpoint: advertisedEndpoint(options.listen, port), curve: keys.client };
        transport.listening = bound === transport.access.endpoint ? bound : `${bound} (device hosts connect to ${transport.access.endpoint})`;
      } else {
        await router.bind(transport.access.endpoint);
      }
    } catch (error) {
      transport.close(); // no socket and no run folder left behind
      throw error;
    }
    return transport;
  }

  send(to: ReplicaPeer, message: TaskMessage): Promise<void> {
    return this.outbox.send(taskRoute(to), encode(message), true);
  }

  trySend(to: ReplicaPeer, message: TaskMessage): void {
    if (this.closed) return;
    this.outbox.send(taskRoute(to), encode(message), true).catch(() => undefined);
  }

  takeBack(to: ReplicaPeer, batch: number): void {
    if (this.closed) return;
    this.outbox.send(takeBackRoute(to), encode(takeBackMessage(batch)), false).catch(() => undefined);
  }

  command(to: HostPeer, message: HostCommand): void {
    if (this.closed) return;
    this.outbox.send(hostRoute(to), encode(message), message.kind !== 'heartbeat').catch(() => undefined);
  }

  forget(peer: ReplicaPeer | HostPeer): void {
    if ('replica' in peer) {
      this.outbox.forget(taskRoute(peer));
      this.outbox.forget(takeBackRoute(peer));
    } else {
      this.outbox.forget(hostRoute(peer));
    }
  }

  /** Every message that arrives, decoded and validated; never throws. */
  async receiveLoop(deliver: (received: Received) => void): Promise<void> {
    try {
      for await (const frames of this.router) {
        if (frames.length < 2) {
          deliver({ ok: false, reason: `expected a routing id and a message, got ${frames.length} frame(s)` });
          continue;
        }
        // The message, then its large arrays' bytes, each a frame of its own (codec.ts): zeromq.js
        // hands them over without a copy, and the journal writes each with one write().
        const [route, payload, ...arrays] = frames as [Buffer, Buffer, ...Buffer[]];
        if (payload.length === 0 && arrays.length === 0) {
          this.outbox.reachable(route.toString('latin1')); // a (re)connection's probe (ZMQ_PROBE_ROUTER)
          continue;
        }
        let value: unknown;
        try {
          value = decode(payload, arrays);
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
    this.outbox.close();
    this.router.close();
    this.zap?.close();
    rmSync(this.runDir, { recursive: true, force: true });
  }
}
