/**
 * The command that starts a device host, by how it is started, and how its launch config reaches
 * it: the one place that knows both. The config holds the run's CURVE keys over TCP, so it never
 * travels on a command line (`ps` shows those to every user): it goes in the host's environment
 * (GPU_ORCHESTRATE_HOST_CONFIG; srun passes the caller's environment to its tasks), over ssh's
 * stdin (sshStdinLine), or in a 0600 file (the external launcher's join folder).
 */
import { HOST_CONFIG_VARIABLE, type HostLaunchConfig } from './host-config.js';

/** How the host is started: a child of the controller, an srun task, over ssh, or joining by itself. */
export type HostEntry = 'local' | 'srun' | 'ssh' | 'join';

/** Python's arguments (after the interpreter) that start a device host. They hold no config. */
export function hostArguments(entry: HostEntry): string[] {
  if (entry === 'local') return ['-m', 'gpu_orchestrate_worker', 'host'];
  // python/gpu_orchestrate_worker/remote.py: the checks and signal settings of a host started
  // remotely (a joining one reads its config from the join folder by rank), then the host itself.
  return ['-m', 'gpu_orchestrate_worker.remote', entry];
}

/** The variable that carries a host's launch config, for its environment. */
export function hostConfigEnvironment(config: HostLaunchConfig): Record<string, string> {
  return { [HOST_CONFIG_VARIABLE]: JSON.stringify(config) };
}

/**
 * The launch config of a host started by another launcher. Its parent is srun's slurmstepd, an ssh
 * session or a pod's shell, not the controller: controller_pid 0 tells it to follow the process
 * that started it (python host.py), so it still dies with what started it, and with the
 * controller's silence (its heartbeats) wherever it runs.
 */
export function remoteConfig(config: HostLaunchConfig): HostLaunchConfig {
  return { ...config, controller_pid: 0 };
}
