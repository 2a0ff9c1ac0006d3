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
  /**
   * For a host started through another program (srun, ssh) or by someone else (external): what
   * that launcher saw, in words ("its srun exited with code 0 after: srun: error: Node failure on
   * gpo-n2"). Then exitCode and signal are the launcher's, not the host's: srun's exit status is
   * not its task's.
   */
  launcher?: string;
  /** The node a remote host ran on. */
  node?: string;
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

/** A remote host's end as its launcher saw it (srun, ssh, or nothing at all for an external host). */
export function launcherDeath(node: string | undefined, launcher: string, exitCode?: number, signal?: string): Death {
  return { process: { kind: 'host' }, pid: undefined, exitCode: signal ? undefined : exitCode, signal, launcher, ...(node === undefined ? {} : { node }) };
}

/**
 * "replica 1 (pid 4242) was killed by SIGSEGV", "the device host (pid 17) exited with code 3",
 * "the device host on gpo-n2 is gone: its srun exited with code 0 after: srun: error: Node failure on gpo-n2".
 */
export function describeDeath(death: Death): string {
  if (death.launcher !== undefined) return `the device host${death.node === undefined ? '' : ` on ${death.node}`} is gone: ${death.launcher}`;
  const who = death.process.kind === 'replica' ? `replica ${death.process.replica}` : 'the device host';
  const pid = death.pid === undefined ? '' : ` (pid ${death.pid})`;
  const how = death.signal ? `was killed by ${death.signal}` : death.exitCode === undefined ? 'exited' : `exited with code ${death.exitCode}`;
  return `${who}${pid} ${how}`;
}
