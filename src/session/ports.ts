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
  /** Calls `handler` on SIGINT, SIGTERM and SIGUSR2 until the returned function is called. */
  onSignal(handler: (name: NodeJS.Signals) => void): () => void;
}

/**
 * The signals that stop a run as Ctrl-C does. SIGUSR2: Slurm's warning before a time limit or a
 * preemption (sbatch --signal=B:USR2@120; USR1 is known to be taken by NCCL), then SIGTERM.
 */
const STOP_SIGNALS: NodeJS.Signals[] = ['SIGINT', 'SIGTERM', 'SIGUSR2'];

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
    for (const name of STOP_SIGNALS) process.on(name, handler);
    return () => {
      for (const name of STOP_SIGNALS) process.off(name, handler);
    };
  },
};
