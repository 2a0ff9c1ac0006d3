/**
 * What the session uses of the world: sockets, a launcher, time and signals. The real ones are
 * below; the session's tests give fakes (test/session/), so a whole run's logic is exercised
 * without a Python process.
 */
import { execaLauncher } from '../launch/execa-launcher.js';
import type { Launcher } from '../launch/launcher.js';
import { Transport, type SessionTransport, type TransportOptions } from '../transport/sockets.js';

export interface Clock {
  now(): number;
  /** Call `fn` once after `ms` (restart back-offs); never holds the process open. */
  after(ms: number, fn: () => void): void;
  /** Call `fn` every `ms` until the returned function is called. */
  every(ms: number, fn: () => void): () => void;
}

export interface SessionPorts {
  openTransport(options: TransportOptions): Promise<SessionTransport>;
  launcher: Launcher;
  clock: Clock;
  /** Calls `handler` on SIGINT and SIGTERM until the returned function is called. */
  onSignal(handler: (name: NodeJS.Signals) => void): () => void;
}

export const systemClock: Clock = {
  now: () => Date.now(),
  after: (ms, fn) => void setTimeout(fn, ms).unref(),
  every: (ms, fn) => {
    const timer = setInterval(fn, ms);
    return () => clearInterval(timer);
  },
};

export const systemPorts: SessionPorts = {
  openTransport: (options) => Transport.open(options),
  launcher: execaLauncher,
  clock: systemClock,
  onSignal: (handler) => {
    process.on('SIGINT', handler);
    process.on('SIGTERM', handler);
    return () => {
      process.off('SIGINT', handler);
      process.off('SIGTERM', handler);
    };
  },
};
