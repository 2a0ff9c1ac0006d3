/**
 * The external launcher: the controller starts no host. It prints one command, the same for every
 * host, and whatever launcher the user has (a Kubernetes Indexed Job, PBS, mpirun, a shell) runs
 * it; each host takes its rank from what that launcher sets (python rank.py) and joins.
 *
 * Each time the fleet starts a device's host (the first time, and after its host was lost), its
 * launch config is written to the join folder as rank-N.json (0600, in a folder only the user can
 * read); the host that joins as rank N reads it. A host may join at any time and gets work as
 * soon as it says ready; one that leaves stops sending heartbeats, is given up on after the
 * heartbeat timeout, its work goes back to the queue, and the rank waits for a host again.
 */
import { rmSync } from 'node:fs';
import path from 'node:path';
import writeFileAtomic from 'write-file-atomic';
import { makeRunFolder } from '../transport/run-folder.js';
import { shellQuote } from '../util/command-line.js';
import { launcherDeath, type Death } from '../workers/death.js';
import { pythonEnv } from '../workers/python.js';
import { hostArguments, remoteConfig } from './host-command.js';
import type { HostHandle, HostSpec, Launcher } from './launcher.js';

/** The variable that names the join folder to a joining host (python remote.py, join). */
export const JOIN_VARIABLE = 'GPU_ORCHESTRATE_JOIN';
/** In the join folder: how many ranks the run has (python remote.py, RANKS_FILE). */
const RANKS_FILE = 'ranks.json';

/**
 * After the shutdown command, how long a joined host has to send its last message (host_exit)
 * before it counts as gone anyway: the controller then closes its socket, and a command still on
 * its way would be lost (the host would wait out the heartbeat timeout and exit 69).
 */
const LEAVE_WAIT_MS = 5_000;

/** A host someone else started: the controller only hears it, and cannot see it end. */
class JoiningHost implements HostHandle {
  readonly pid = undefined;
  readonly firstHeartbeatAllowanceMs = Infinity;
  readonly ownProcess = false;
  readonly exited: Promise<Death>;
  private settle: (death: Death) => void = () => undefined;
  private leaving: NodeJS.Timeout | undefined;

  constructor() {
    this.exited = new Promise((resolve) => {
      this.settle = (death) => {
        clearTimeout(this.leaving);
        resolve(death);
      };
    });
  }

  stop(): void {
    // The shutdown command (fleet) does the asking; its own launcher owns the process.
    this.leaving ??= setTimeout(() => this.settle(launcherDeath(undefined, `it was told to shut down and did not say it left within ${LEAVE_WAIT_MS / 1000} s`)), LEAVE_WAIT_MS);
  }

  left(exitcode: number): void {
    this.settle(launcherDeath(undefined, `it left the run (exit code ${exitcode})`, exitcode));
  }

  kill(): void {
    this.settle(launcherDeath(undefined, 'it left the run, or lost its way to the controller; a host started again with its rank joins in its place'));
  }

  killReplica(): void {
    // The restart command that follows makes its host kill it (replica_processes.py, start()).
  }
}

export class ExternalLauncher implements Launcher {
  private folder: string | undefined;

  constructor(
    private readonly python: string,
    /** How many hosts will join: a host with another rank is told so at once. */
    private readonly ranks: number,
  ) {}

  /** The join folder, made on first use: a run folder (src/transport/run-folder.ts), so a killed run's is removed by the next. */
  private joinFolder(): string {
    if (this.folder === undefined) {
      this.folder = makeRunFolder();
      writeFileAtomic.sync(path.join(this.folder, RANKS_FILE), JSON.stringify({ ranks: this.ranks }), { mode: 0o600 });
    }
    return this.folder;
  }

  /** The one command that starts a device host from anything else (its rank from the environment). */
  command(): string {
    const env = { [JOIN_VARIABLE]: this.joinFolder(), PYTHONPATH: pythonEnv().PYTHONPATH ?? '' };
    const assignments = Object.entries(env).map(([name, value]) => `${name}=${shellQuote(value)}`);
    return [...assignments, shellQuote(this.python), ...hostArguments('join').map(shellQuote)].join(' ');
  }

  start(spec: HostSpec): HostHandle {
    // A GPU host uses the GPU its launcher gives it: no CUDA_VISIBLE_DEVICES from here.
    const { CUDA_VISIBLE_DEVICES: visible, ...env } = spec.env;
    const joined = { config: remoteConfig(spec.config), env: { ...env, ...(spec.device.kind === 'cpu' ? { CUDA_VISIBLE_DEVICES: visible ?? '' } : {}) } };
    writeFileAtomic.sync(path.join(this.joinFolder(), `rank-${spec.device.index}.json`), JSON.stringify(joined), { mode: 0o600 });
    return new JoiningHost();
  }

  close(): void {
    if (this.folder !== undefined) rmSync(this.folder, { recursive: true, force: true });
  }
}
