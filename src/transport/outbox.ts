/**
 * What the controller sends through its one ROUTER socket, to a routing id, in order.
 *
 * The ROUTER is `mandatory` with a send timeout of 0: a send to a routing id with no connection
 * (its socket has not connected yet, or is reconnecting) fails at once with EHOSTUNREACH instead
 * of being dropped silently, and one full peer never blocks the socket for the others (EAGAIN).
 * Such a message is either dropped (a take-back or a heartbeat: harmless when lost) or held:
 * a batch, `stop` or a host command waits, with every later message for that routing id behind
 * it, until the id can be reached again. Every socket the controller sends to sets
 * ZMQ_PROBE_ROUTER, so each (re)connection announces itself with an empty message, and
 * reachable() sends what waits at once; a slow retry covers a peer that was only full.
 *
 * zeromq.js allows one send in progress per socket, and the order of messages to one peer must
 * hold (batch ids on a task socket only grow): every send goes through one chain.
 */
import type { Router } from 'zeromq';

interface Outgoing {
  route: string;
  payload: Buffer;
  resolve: () => void;
  reject: (error: Error) => void;
}

/** How often held routing ids are tried again when no reconnection announced them. */
const RETRY_MS = 200;

function unreachable(error: unknown): boolean {
  const code = (error as { code?: string }).code;
  return code === 'EHOSTUNREACH' || code === 'EAGAIN';
}

export class RouterOutbox {
  private chain: Promise<void> = Promise.resolve();
  /** Routing ids that could not be reached, with what waits for them, in order. */
  private readonly held = new Map<string, Outgoing[]>();
  private retry: NodeJS.Timeout | undefined;

  constructor(private readonly socket: Router) {}

  /** Sends `payload` to `route`; with `hold`, keeps it (in order) while the route cannot be reached, else drops it. */
  send(route: string, payload: Buffer, hold: boolean): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      const message: Outgoing = { route, payload, resolve, reject };
      this.chain = this.chain.then(() => this.attempt(message, hold));
    });
  }

  /** How many messages wait for routes that cannot be reached now. */
  get waiting(): number {
    let count = 0;
    for (const queue of this.held.values()) count += queue.length;
    return count;
  }

  /** A message came from `route`: it can be reached, so what waits for it goes now. */
  reachable(route: string): void {
    if (this.held.has(route)) this.chain = this.chain.then(() => this.flush(route));
  }

  /** The peer behind `route` is gone for good (replaced or stopped): what waits for it is dropped. */
  forget(route: string): void {
    const queue = this.held.get(route);
    if (!queue) return;
    this.held.delete(route);
    for (const message of queue.splice(0)) message.reject(new Error(`${route} is gone; the message was not sent`));
  }

  close(): void {
    clearInterval(this.retry);
    for (const route of [...this.held.keys()]) this.forget(route);
  }

  private async attempt(message: Outgoing, hold: boolean): Promise<void> {
    const queue = this.held.get(message.route);
    if (queue) {
      // Behind earlier messages that wait for the same peer: after them, or not at all.
      if (hold) queue.push(message);
      else message.resolve();
      return;
    }
    try {
      await this.socket.send([message.route, message.payload]);
      message.resolve();
    } catch (error) {
      if (!unreachable(error) || this.socket.closed) return message.reject(error as Error);
      if (!hold) return message.resolve(); // dropped, as a take-back or a heartbeat may be
      this.held.set(message.route, [message]);
      this.retry ??= setInterval(() => this.retryAll(), RETRY_MS).unref();
    }
  }

  private async flush(route: string): Promise<void> {
    const queue = this.held.get(route);
    while (queue !== undefined && this.held.get(route) === queue && queue.length > 0) {
      const message = queue[0] as Outgoing;
      try {
        await this.socket.send([route, message.payload]);
      } catch (error) {
        if (unreachable(error) && !this.socket.closed) return; // still not there: keep waiting
        queue.shift();
        message.reject(error as Error);
        continue;
      }
      queue.shift();
      message.resolve();
    }
    if (queue !== undefined && this.held.get(route) === queue) this.held.delete(route);
    if (this.held.size === 0) {
      clearInterval(this.retry);
      this.retry = undefined;
    }
  }

  private retryAll(): void {
    for (const route of this.held.keys()) this.reachable(route);
  }
}
