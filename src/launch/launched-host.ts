/**
 * A device host started through a program the controller runs for it: `srun` (a step of one task)
 * or `ssh`. The controller sees that program end, not the host, so:
 *
 * - the host's pid is not known here: the fleet takes it from the host's first heartbeat;
 * - its end is the launcher's, described as such (srun exits 0 on "Node failure on gpo-n2": its
 *   status is not the host's), with the launcher's own last lines;
 * - before its first heartbeat it is not silent but on its way (a step waiting for the node's
 *   CPUs, a remote interpreter importing torch): the session's start-up timeout reports it;
 * - a replica past its timeout is not killed from here (its pid is on another node): the restart
 *   command that follows makes its host kill it first (replica_processes.py, start()).
 */
import { existsSync } from 'node:fs';
import { createInterface } from 'node:readline';
import type { ResultPromise } from 'execa';
import { launcherDeath, type Death } from '../workers/death.js';
import type { HostHandle } from './launcher.js';

/** How long an ssh host gets, after its input is closed, to stop its replicas before its ssh is killed. */
export const LAUNCHED_STOP_GRACE_MS = 8_000;
/** The launcher's own lines kept to explain a host's end. */
const OWN_LINES_KEPT = 3;

export interface LaunchedHostOptions {
  /** "srun", "ssh": the program, in messages. */
  launcher: string;
  node: string;
  /** Lines the launcher itself prints ("srun: error: ...", "ssh: connect to host ..."). */
  ownLine: RegExp;
  /**
   * How stop() asks: 'kill' ends the program at once (srun: slurmstepd then ends the step's
   * processes; a host under srun ignores SIGTERM, which Slurm sends the whole step at a time
   * limit), 'close-input' closes its stdin (ssh: the remote session stops the host, then ends).
   */
  stop: 'kill' | 'close-input';
}

/** Where the kernel's parent-death signal comes from: util-linux's setpriv (2.33 and later). */
const SETPRIV = ['/usr/bin/setpriv', '/bin/setpriv'].find((path) => existsSync(path));

/**
 * `command args` so that it is SIGKILLed when the controller dies, even by SIGKILL: srun then
 * ends its step, ssh its session, and the host goes with them. Without setpriv the hosts rely on
 * their own watch of the controller.
 */
export function dyingWithController(command: string, args: string[]): [string, string[]] {
  return SETPRIV ? [SETPRIV, ['--pdeathsig', 'KILL', '--', command, ...args]] : [command, args];
}

export class LaunchedHost implements HostHandle {
  readonly pid = undefined;
  readonly firstHeartbeatAllowanceMs = Infinity;
  readonly exited: Promise<Death>;
  private readonly own: string[] = [];
  private stopTimer: NodeJS.Timeout | undefined;

  constructor(
    private readonly subprocess: ResultPromise,
    private readonly options: LaunchedHostOptions,
    onOutput: (line: string) => void,
  ) {
    if (subprocess.all) {
      createInterface({ input: subprocess.all, crlfDelay: Infinity }).on('line', (line) => {
        if (options.ownLine.test(line)) {
          this.own.push(line.trim());
          if (this.own.length > OWN_LINES_KEPT) this.own.shift();
        }
        onOutput(line);
      });
    }
    const death = (result: { exitCode?: number; signal?: string }) => {
      clearTimeout(this.stopTimer);
      return launcherDeath(options.node, this.describe(result.exitCode, result.signal), result.exitCode, result.signal);
    };
    this.exited = subprocess.then(death, death);
  }

  private describe(exitCode: number | undefined, signal: string | undefined): string {
    const how = signal ? `was killed by ${signal}` : `exited with code ${exitCode ?? '?'}`;
    const said = this.own.length > 0 ? ` after: ${this.own.join(' | ')}` : '';
    return `its ${this.options.launcher} ${how}${said}`;
  }

  stop(): void {
    if (this.options.stop === 'kill') return this.kill();
    this.subprocess.stdin?.end();
    this.stopTimer ??= setTimeout(() => this.kill(), LAUNCHED_STOP_GRACE_MS).unref();
  }

  kill(): void {
    this.subprocess.kill('SIGKILL');
  }

  killReplica(): void {
    // Not from here: see the module comment.
  }
}
