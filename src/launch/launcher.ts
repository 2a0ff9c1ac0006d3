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
  readonly pid: number | undefined;
  /** Settles once, when the host is gone, with how it died. */
  readonly exited: Promise<Death>;
  /** Ask it to stop its replicas and exit (SIGTERM); it is killed if it has not after a grace period. */
  stop(): void;
  /** At once (SIGKILL): for a host that stopped answering. Its replicas die with it. */
  kill(): void;
  /** SIGKILL one of its replicas (one that ran past its timeout); the host reports the exit. */
  killReplica(pid: number): void;
}

export interface Launcher {
  start(spec: HostSpec): HostHandle;
}
