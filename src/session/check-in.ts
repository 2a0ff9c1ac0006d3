/**
 * Hosts started elsewhere (srun, ssh, external) check in when they can: there is no rendezvous,
 * and work starts with the first host that says ready. Once, at the start-up timeout
 * (--start-timeout), the run looks at who never checked in: fewer than --min-hosts checked in
 * stops the run, naming every node and rank that did not and how its launcher saw it end (srun's
 * exit status, which is not the host's); otherwise a warning names them, and they may still join.
 */
import { RunAbortedError, SetupError, type GpuOrchestrateError } from '../errors.js';
import { describeDeath } from '../workers/death.js';
import type { Session } from './state.js';

/** What a host that never checked in is, for the message: its device, rank and node, and what its launcher saw. */
export function missingHostText(label: string, rank: number, node: string | undefined, launcherSaw: string | undefined): string {
  const where = node === undefined ? `rank ${rank}` : `rank ${rank} on ${node}`;
  return `${label} (${where}): ${launcherSaw ?? 'started, never checked in (still starting, or its launcher has not run it)'}`;
}

export interface CheckIn {
  expected: number;
  checkedIn: number;
  minHosts: number;
  timeoutSeconds: number;
  /** One line per host that never checked in (missingHostText). */
  missing: string[];
  launcher: string;
  everReady: boolean;
}

/** The start-up verdict: an error that stops the run, a warning, or nothing (every host checked in). */
export function checkInVerdict(check: CheckIn): { fatal?: GpuOrchestrateError; warning?: string } {
  if (check.missing.length === 0) return {};
  const list = check.missing.map((line) => `\n  ${line}`).join('');
  const doctor = check.launcher === 'slurm' ? 'gpu-orchestrate doctor --launcher slurm checks every node' : `check that ${check.launcher === 'ssh' ? 'each machine' : 'each host'} has the same Python environment and sees this run's files`;
  if (check.checkedIn < check.minHosts) {
    const message = `only ${check.checkedIn} of ${check.expected} device hosts checked in within --start-timeout ${check.timeoutSeconds} s, fewer than --min-hosts ${check.minHosts}. Never checked in:${list}\n${doctor}; or pass a lower --min-hosts or a longer --start-timeout.`;
    return { fatal: check.everReady ? new RunAbortedError(message) : new SetupError(message) };
  }
  return { warning: `${check.missing.length} of ${check.expected} device hosts had not checked in after --start-timeout ${check.timeoutSeconds} s; the run goes on without them:${list}` };
}

/** One line per device whose host never checked in (removed or not), with what its launcher saw. */
export function neverCheckedIn(session: Session): string[] {
  return session.devices
    .filter(({ device }) => !session.fleet.hasCheckedIn(device.index))
    .map(({ device }) => {
      const death = session.fleet.lastDeath(device.index);
      return missingHostText(device.label, device.index, device.node, death && describeDeath(death));
    });
}

/** On each tick: once the start-up timeout has passed, the verdict (once). */
export function checkInAtTimeout(session: Session): void {
  const { flags, fleet, config } = session;
  const launch = config.launch;
  if (launch === undefined || launch.launcher === 'local' || flags.checkInBy === undefined || session.clock.now() < flags.checkInBy) return;
  flags.checkInBy = undefined;
  const missing = neverCheckedIn(session);
  const checkedIn = session.devices.filter(({ device }) => fleet.hasCheckedIn(device.index)).length;
  const verdict = checkInVerdict({ expected: session.devices.length, checkedIn, minHosts: launch.minHosts, timeoutSeconds: launch.startTimeoutSeconds, missing, launcher: launch.launcher, everReady: flags.everReady });
  if (verdict.fatal) flags.fatal ??= verdict.fatal;
  if (verdict.warning) session.warnings.warn('check-in', verdict.warning);
}
