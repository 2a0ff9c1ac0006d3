/**
 * The ssh launcher: each device host is started on its machine (--hosts FILE) over
 * `ssh -o BatchMode=yes` (never a password prompt). The command line carries nothing secret:
 * the host's environment (its GPU, thread counts, and the run's keys once the transport has
 * them) goes over ssh's stdin, which stays open for the host's life. Closing it, or losing the
 * connection, ends the remote session, and the session stops the host
 * (python/gpu_orchestrate_worker/remote.py, ssh).
 */
import { execa } from 'execa';
import { shellQuote } from '../util/command-line.js';
import { pythonEnv } from '../workers/python.js';
import { hostArguments, hostConfigEnvironment, remoteConfig } from './host-command.js';
import type { HostLaunchConfig } from './host-config.js';
import type { SshHost } from './hosts-file.js';
import { dyingWithController, LaunchedHost } from './launched-host.js';
import type { HostHandle, HostSpec, Launcher } from './launcher.js';

/**
 * BatchMode: fail rather than ask for a password. ServerAlive: a machine that stops answering
 * ends the session (and the host is seen as gone) within 15 s.
 */
export const SSH_OPTIONS = ['-o', 'BatchMode=yes', '-o', 'ServerAliveInterval=5', '-o', 'ServerAliveCountMax=3', '-T'];

/** The variables the remote command line may carry: where our Python package is, nothing else. */
const ON_COMMAND_LINE = ['PYTHONPATH', 'PYTHONUNBUFFERED'];

/**
 * The remote command: in the controller's folder (an ssh session starts in the home folder; the
 * paths of the run mean the same on a shared filesystem), our package on PYTHONPATH, then the
 * session that reads the environment from stdin and runs the host.
 */
export function sshRemoteCommand(spec: Pick<HostSpec, 'python'>, cwd: string): string {
  const env = pythonEnv();
  const assignments = ON_COMMAND_LINE.map((name) => `${name}=${shellQuote(env[name] ?? '')}`);
  const command = [spec.python, ...hostArguments('ssh')].map(shellQuote);
  return `cd ${shellQuote(cwd)} && exec env ${assignments.join(' ')} ${command.join(' ')}`;
}

/** What goes over stdin: the host's own variables and its launch config (which holds the run's keys), one JSON line (remote.py reads it first). */
export function sshStdinLine(env: Record<string, string>, config: HostLaunchConfig): string {
  return `${JSON.stringify({ ...env, ...hostConfigEnvironment(remoteConfig(config)) })}\n`;
}

export class SshLauncher implements Launcher {
  constructor(
    /** By device index: the machine its host runs on. */
    private readonly machines: Map<number, SshHost>,
    private readonly cwd: string = process.cwd(),
  ) {}

  start(spec: HostSpec): HostHandle {
    const machine = this.machines.get(spec.device.index);
    if (!machine) throw new Error(`no machine for device ${spec.device.label} in the hosts file`);
    const [command, args] = dyingWithController('ssh', [...SSH_OPTIONS, machine.destination, sshRemoteCommand(spec, this.cwd)]);
    const subprocess = execa(command, args, { stdin: 'pipe', all: true, buffer: false, reject: false, cleanup: true });
    subprocess.stdin?.on('error', () => undefined); // ssh gone before it read: its exit says why
    subprocess.stdin?.write(sshStdinLine(spec.env, spec.config));
    return new LaunchedHost(subprocess, { launcher: 'ssh', node: machine.node, ownLine: /^(ssh|Permission denied|Host key|Warning: )/, stop: 'close-input' }, spec.onOutput);
  }
}
