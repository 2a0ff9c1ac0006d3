/**
 * The one-machine launcher: each device host is a child process (python -m
 * gpu_orchestrate_worker host) started with execa, its output read line by line.
 */
import { createInterface } from 'node:readline';
import { execa, type ResultPromise } from 'execa';
import { hostDeath, type Death } from '../workers/death.js';
import { pythonEnv } from '../workers/python.js';
import { hostArguments, hostConfigEnvironment } from './host-command.js';
import type { HostHandle, HostSpec, Launcher } from './launcher.js';

/** How long a host gets after SIGTERM to stop its replicas before SIGKILL. */
export const HOST_KILL_GRACE_MS = 8_000;

class ExecaHost implements HostHandle {
  readonly exited: Promise<Death>;

  constructor(private readonly subprocess: ResultPromise) {
    const death = (result: { exitCode?: number; signal?: string }) => hostDeath(subprocess.pid, result.exitCode, result.signal);
    this.exited = subprocess.then(death, death);
  }

  get pid(): number | undefined {
    return this.subprocess.pid;
  }

  stop(): void {
    this.subprocess.kill('SIGTERM');
  }

  kill(): void {
    this.subprocess.kill('SIGKILL');
  }

  killReplica(pid: number): void {
    try {
      process.kill(pid, 'SIGKILL'); // a replica is a child of this host, on this machine
    } catch {
      // already gone: its exit report is on the way
    }
  }
}

export const execaLauncher: Launcher = {
  start(spec: HostSpec): HostHandle {
    // The launch config in the environment, not the arguments: over TCP it holds the run's keys.
    const subprocess = execa(spec.python, hostArguments('local'), {
      env: pythonEnv({ ...spec.env, ...hostConfigEnvironment(spec.config) }),
      stdin: 'ignore',
      all: true,
      buffer: false,
      reject: false,
      forceKillAfterDelay: HOST_KILL_GRACE_MS,
      cleanup: true,
    });
    if (subprocess.all) createInterface({ input: subprocess.all, crlfDelay: Infinity }).on('line', spec.onOutput);
    return new ExecaHost(subprocess);
  },
};
