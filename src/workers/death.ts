/**
 * A process's death as data (as torch's multiprocessing/spawn.py keeps it): made once, where the
 * exit is seen, and turned into words only when printed.
 */
import { constants } from 'node:os';

const SIGNAL_NAMES = new Map(Object.entries(constants.signals).map(([name, number]) => [number, name]));

export interface Death {
  /** What died: one of a device's replicas, or the device host itself. */
  process: { kind: 'replica'; replica: number } | { kind: 'host' };
  pid: number | undefined;
  /** The exit code; undefined when a signal ended it. */
  exitCode: number | undefined;
  /** The signal that ended it ("SIGSEGV"), if one did. */
  signal: string | undefined;
}

/** A replica's exit as its host saw it: Python reports a death by signal N as exit code -N. */
export function replicaDeath(replica: number, pid: number, exitcode: number | null): Death {
  if (exitcode !== null && exitcode < 0) return { process: { kind: 'replica', replica }, pid, exitCode: undefined, signal: SIGNAL_NAMES.get(-exitcode) ?? `signal ${-exitcode}` };
  return { process: { kind: 'replica', replica }, pid, exitCode: exitcode ?? undefined, signal: undefined };
}

export function hostDeath(pid: number | undefined, exitCode: number | undefined, signal: string | undefined): Death {
  return { process: { kind: 'host' }, pid, exitCode: signal ? undefined : exitCode, signal };
}

/** A SIGKILL comes from outside (the OOM killer, an operator): weaker evidence against an item. */
export function killedFromOutside(death: Death): boolean {
  return death.signal === 'SIGKILL';
}

/** "replica 1 (pid 4242) was killed by SIGSEGV", "the device host (pid 17) exited with code 3". */
export function describeDeath(death: Death): string {
  const who = death.process.kind === 'replica' ? `replica ${death.process.replica}` : 'the device host';
  const pid = death.pid === undefined ? '' : ` (pid ${death.pid})`;
  const how = death.signal ? `was killed by ${death.signal}` : death.exitCode === undefined ? 'exited' : `exited with code ${death.exitCode}`;
  return `${who}${pid} ${how}`;
}
