/**
 * What a device host is told when it starts: the launch config, the same whichever launcher
 * starts the host. Its Python twin (python/gpu_orchestrate_worker/) validates every key and the
 * protocol version, and stops with a clear message on a mismatch.
 */
import type { Device } from '../devices/devices.js';
import type { CurveClientKeys } from '../transport/curve.js';
import { PROTOCOL_VERSION } from '../transport/messages.js';
import type { HostAccess } from '../transport/sockets.js';

/**
 * A host exits with this when it refuses its launch config (another protocol version, a key it
 * does not know): a restart would be refused the same way. Python: launch_config.EXIT_BAD_CONFIG.
 */
export const EXIT_BAD_LAUNCH_CONFIG = 78;

/** The wire form (snake_case, as Python reads it). */
export interface HostLaunchConfig {
  protocol_version: number;
  device_index: number;
  device_label: string;
  torch_device: string;
  /** How many replicas to start now; a `start` command may add more, up to `slots`. */
  replicas: number;
  /** The most replicas this device may have (--workers-per-gpu, or its ceiling under auto). */
  slots: number;
  script: string;
  /** The controller's socket: ipc:// on one machine, tcp:// with `curve` otherwise. */
  endpoint: string;
  /** Over TCP, the run's CURVE keys (secret: never on a command line); empty on ipc://. */
  curve: CurveClientKeys | Record<string, never>;
  /** Which start of this device's host this is: its routing id and heartbeats carry it. */
  incarnation: number;
  /** Per replica, the generation its first start here gets. */
  generations: number[];
  threads_per_replica: number;
  /**
   * The controller's pid when the host is its child (it then also dies with it, by pid); 0 when
   * a launcher starts it some other way (srun, ssh, by hand): it then relies on the heartbeat alone.
   */
  controller_pid: number;
  /** A host that hears nothing from the controller for this long stops its replicas and exits. */
  heartbeat_timeout_ms: number;
  options: Record<string, string>;
}

/** What every host of a run shares. */
export interface HostTemplate {
  python: string;
  script: string;
  options: Record<string, string>;
  threadsPerReplica: number;
  slotsPerDevice: number;
  heartbeatTimeoutMs: number;
}

/** Which start of which device's host, and where its replicas start from. */
export interface HostStart {
  device: Device;
  incarnation: number;
  generations: number[];
}

export function hostLaunchConfig(template: HostTemplate, start: HostStart, access: HostAccess): HostLaunchConfig {
  const { device } = start;
  return {
    protocol_version: PROTOCOL_VERSION,
    device_index: device.index,
    device_label: device.label,
    torch_device: device.kind === 'cuda' ? 'cuda:0' : 'cpu',
    replicas: start.generations.length,
    slots: template.slotsPerDevice,
    script: template.script,
    endpoint: access.endpoint,
    curve: access.curve ?? {},
    incarnation: start.incarnation,
    generations: start.generations,
    threads_per_replica: template.threadsPerReplica,
    controller_pid: process.pid,
    heartbeat_timeout_ms: template.heartbeatTimeoutMs,
    options: template.options,
  };
}

/**
 * The variable a host reads its launch config from (JSON), when it is not given a file
 * (`host --config-file PATH`, mode 0600). Never a command-line argument: `ps` shows those to
 * every user, and over TCP the config holds the run's keys.
 */
export const HOST_CONFIG_VARIABLE = 'GPU_ORCHESTRATE_HOST_CONFIG';

/** The host's environment: its one GPU (it sees cuda:0 only), and its replicas' share of the cores. */
export function hostEnvironment(device: Device, threadsPerReplica: number): Record<string, string> {
  const threads = threadsPerReplica > 0 ? String(threadsPerReplica) : undefined;
  return { CUDA_VISIBLE_DEVICES: device.visibleDevices, ...(threads ? { OMP_NUM_THREADS: threads, MKL_NUM_THREADS: threads } : {}) };
}
