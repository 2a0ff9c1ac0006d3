/**
 * The command that starts a device host, by how it is started: the one place that knows how the
 * launch config reaches a host. Today it travels on the command line (`--config <json>`), which
 * holds no secret. When the TCP transport lands (keys made per run), what is secret goes by the
 * environment or a 0600 file, never here: change hostArguments() and remoteConfig(), nothing else.
 */
import type { HostLaunchConfig } from './host-config.js';

/** How the host is started: a child of the controller, an srun task, over ssh, or joining by itself. */
export type HostEntry = 'local' | 'srun' | 'ssh' | 'join';

/** Python's arguments (after the interpreter) that start a device host; a joining host's need no config. */
export function hostArguments(entry: HostEntry, config?: HostLaunchConfig): string[] {
  // Every rank runs the same command; each reads its own config from the join folder (external.ts).
  if (entry === 'join') return ['-m', 'gpu_orchestrate_worker.remote', 'join'];
  if (config === undefined) throw new Error(`hostArguments: a ${entry} host needs its launch config`);
  const json = JSON.stringify(config);
  switch (entry) {
    case 'local':
      return ['-m', 'gpu_orchestrate_worker', 'host', '--config', json];
    default:
      // python/gpu_orchestrate_worker/remote.py: the checks and signal settings of a host started
      // remotely, then the host itself with the same --config.
      return ['-m', 'gpu_orchestrate_worker.remote', entry, '--config', json];
  }
}

/**
 * The launch config of a host started by another launcher. Its parent is srun's slurmstepd, an ssh
 * session or a pod's shell, not the controller: controller_pid 0 tells it to follow the process
 * that started it (python host.py), so it still dies with what started it.
 */
export function remoteConfig(config: HostLaunchConfig): HostLaunchConfig {
  return { ...config, controller_pid: 0 };
}
