/**
 * The launcher boundary: what starts a device host, delivers its exit and stops it. The fleet
 * and the session know a host by its handle, never by how it was started, so another launcher
 * (Slurm's srun, ssh, a command printed for any other launcher) plugs in here and nowhere else.
 * A launcher knows nothing of items, batches or the output.
 */
import type { Device } from '../devices/devices.js';
import type { Death } from '../workers/death.js';
import type { HostLaunchConfig } from './host-config.js';

export interface HostSpec {
  device: Device;
  python: string;
  config: HostLaunchConfig;
  /** Variables the host needs beside the launcher's own (its GPU, its thread counts). */
  env: Record<string, string>;
  /** Every line the host and its replicas print (the user's prints included). */
  onOutput: (line: string) => void;
}

export interface HostHandle {
  /** The host's pid, when the launcher knows it (a child of the controller); else the fleet takes it from its first heartbeat. */
  readonly pid: number | undefined;
  /** Settles once, when the host is gone, with how it died. */
  readonly exited: Promise<Death>;
  /**
   * How long the host may take to send its first heartbeat before it counts as hung; Infinity
   * for a host started elsewhere (srun, ssh, external), which the session's start-up timeout
   * reports instead. Absent: the fleet's default.
   */
  readonly firstHeartbeatAllowanceMs?: number;
  /**
   * False for a host that someone else started and only the wire tells of (external): the
   * controller cannot see it end, so stop() only starts a wait for its last message (`left`).
   */
  readonly ownProcess?: boolean;
  /** The host's last message came (host_exit): for a handle that cannot see its process end, it is gone now. */
  left?(exitcode: number): void;
  /** Ask it to stop its replicas and exit (SIGTERM); it is killed if it has not after a grace period. */
  stop(): void;
  /** At once (SIGKILL): for a host that stopped answering. Its replicas die with it. */
  kill(): void;
  /** SIGKILL one of its replicas (one that ran past its timeout); the host reports the exit. */
  killReplica(pid: number): void;
}

export interface Launcher {
  start(spec: HostSpec): HostHandle;
  /** What the launcher made for the run (an external launcher's join folder), removed when the run ends. */
  close?(): void;
}
