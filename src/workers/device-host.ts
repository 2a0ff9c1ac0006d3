/**
 * Start, watch and stop one device host (python -m gpu_orchestrate_worker host) with execa.
 * The host sees only its own GPU (CUDA_VISIBLE_DEVICES) and starts the replicas itself.
 */
import { createInterface } from 'node:readline';
import { execa, type ResultPromise } from 'execa';
import type { Device } from '../devices/devices.js';
import { PROTOCOL_VERSION } from '../transport/messages.js';
import { pythonEnv } from './python.js';

export interface HostLaunch {
  python: string;
  device: Device;
  replicas: number;
  script: string;
  eventsEndpoint: string;
  controlEndpoint: string;
  taskEndpoints: string[];
  /** Per replica, the generation its first start here gets. */
  generations: number[];
  threadsPerReplica: number;
  options: Record<string, string>;
  /** Every line the host and its replicas print (the user's prints included). */
  onOutput: (line: string) => void;
  env?: Record<string, string>;
}

export interface HostExit {
  device: number;
  /** Which start of this device's host exited: a restart gets the next number. */
  incarnation: number;
  exitCode: number | undefined;
  signal: string | undefined;
}

/** Seconds a host gets after SIGTERM to stop its replicas before SIGKILL. */
export const HOST_KILL_GRACE_MS = 8_000;

export class DeviceHost {
  readonly exited: Promise<HostExit>;
  private readonly subprocess: ResultPromise;

  constructor(
    readonly launch: HostLaunch,
    readonly incarnation = 0,
  ) {
    const config = {
      protocol_version: PROTOCOL_VERSION,
      device_index: launch.device.index,
      device_label: launch.device.label,
      torch_device: launch.device.kind === 'cuda' ? 'cuda:0' : 'cpu',
      replicas: launch.replicas,
      script: launch.script,
      events_endpoint: launch.eventsEndpoint,
      control_endpoint: launch.controlEndpoint,
      task_endpoints: launch.taskEndpoints,
      generations: launch.generations,
      threads_per_replica: launch.threadsPerReplica,
      controller_pid: process.pid,
      options: launch.options,
    };
    const threads = launch.threadsPerReplica > 0 ? String(launch.threadsPerReplica) : undefined;
    this.subprocess = execa(launch.python, ['-m', 'gpu_orchestrate_worker', 'host', '--config', JSON.stringify(config)], {
      env: pythonEnv({
        CUDA_VISIBLE_DEVICES: launch.device.visibleDevices,
        ...(threads ? { OMP_NUM_THREADS: threads, MKL_NUM_THREADS: threads } : {}),
        ...launch.env,
      }),
      stdin: 'ignore',
      all: true,
      buffer: false,
      reject: false,
      forceKillAfterDelay: HOST_KILL_GRACE_MS,
      cleanup: true,
    });
    if (this.subprocess.all) {
      createInterface({ input: this.subprocess.all, crlfDelay: Infinity }).on('line', launch.onOutput);
    }
    this.exited = this.subprocess.then(
      (result) => ({ device: launch.device.index, incarnation, exitCode: result.exitCode, signal: result.signal }),
      (error: { exitCode?: number; signal?: string }) => ({ device: launch.device.index, incarnation, exitCode: error.exitCode, signal: error.signal }),
    );
  }

  get pid(): number | undefined {
    return this.subprocess.pid;
  }

  /** SIGTERM: the host stops its replicas; execa sends SIGKILL after the grace period. */
  stop(): void {
    this.subprocess.kill('SIGTERM');
  }

  /** SIGKILL: for a host that stopped answering. Its replicas die with it (PR_SET_PDEATHSIG). */
  kill(): void {
    this.subprocess.kill('SIGKILL');
  }
}
