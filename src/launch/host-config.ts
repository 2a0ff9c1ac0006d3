/**
 * What a device host is told when it starts: the launch config, the same whichever launcher
 * starts the host. Its Python twin (python/gpu_orchestrate_worker/) validates every key and the
 * protocol version, and stops with a clear message on a mismatch.
 */
import type { Device } from '../devices/devices.js';
import { PROTOCOL_VERSION } from '../transport/messages.js';

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
  /** How many replicas to start now; a `start` command may add more, up to the task endpoints. */
  replicas: number;
  script: string;
  events_endpoint: string;
  control_endpoint: string;
  /** One per replica slot of the device. */
  task_endpoints: string[];
  /** The run's take-back publisher; each replica subscribes to its own topic. */
  take_back_endpoint: string;
  /** Per replica, the generation its first start here gets. */
  generations: number[];
  threads_per_replica: number;
  controller_pid: number;
  options: Record<string, string>;
}

/** What every host of a run shares. */
export interface HostTemplate {
  python: string;
  script: string;
  options: Record<string, string>;
  threadsPerReplica: number;
}

export interface HostEndpoints {
  events: string;
  control: string;
  tasks: string[];
  takeBack: string;
}

export function hostLaunchConfig(template: HostTemplate, device: Device, generations: number[], endpoints: HostEndpoints): HostLaunchConfig {
  return {
    protocol_version: PROTOCOL_VERSION,
    device_index: device.index,
    device_label: device.label,
    torch_device: device.kind === 'cuda' ? 'cuda:0' : 'cpu',
    replicas: generations.length,
    script: template.script,
    events_endpoint: endpoints.events,
    control_endpoint: endpoints.control,
    task_endpoints: endpoints.tasks,
    take_back_endpoint: endpoints.takeBack,
    generations,
    threads_per_replica: template.threadsPerReplica,
    controller_pid: process.pid,
    options: template.options,
  };
}

/** The host's environment: its one GPU (it sees cuda:0 only), and its replicas' share of the cores. */
export function hostEnvironment(device: Device, threadsPerReplica: number): Record<string, string> {
  const threads = threadsPerReplica > 0 ? String(threadsPerReplica) : undefined;
  return { CUDA_VISIBLE_DEVICES: device.visibleDevices, ...(threads ? { OMP_NUM_THREADS: threads, MKL_NUM_THREADS: threads } : {}) };
}
