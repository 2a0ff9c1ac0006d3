/**
 * A replica or a host lost: its work settled (retried or given up on, as the scheduler says),
 * then restarted after a back-off or its device taken out (as the restart policy says). A loss
 * is a value, described only when it is printed.
 */
import { RunAbortedError, SetupError } from '../errors.js';
import { EXIT_BAD_LAUNCH_CONFIG } from '../launch/host-config.js';
import type { LossCause } from '../scheduler/retry-policy.js';
import type { ErrorInfo } from '../transport/messages.js';
import { describeDeath, killedFromOutside, type Death } from '../workers/death.js';
import type { HostExit } from '../workers/fleet.js';
import { HEARTBEAT_TIMEOUT_MS } from '../workers/liveness.js';
import { neverCheckedIn } from './check-in.js';
import { exhaustedRecord, writeLines } from './records.js';
import type { DeviceEntry, Session } from './state.js';

export type ReplicaLoss =
  // running: the batch its host says it was in (the replica's marker), null for none.
  | { kind: 'death'; death: Death; running?: number | null }
  | { kind: 'setup failed'; error: ErrorInfo }
  | { kind: 'timed out'; seconds: number; items: number };

function causeOf(loss: ReplicaLoss): LossCause {
  if (loss.kind === 'timed out') return 'timed out';
  return loss.kind === 'death' && killedFromOutside(loss.death) ? 'killed' : 'died';
}

export function describeLoss(loss: ReplicaLoss, replica: number): string {
  if (loss.kind === 'death') return describeDeath(loss.death);
  if (loss.kind === 'setup failed') return `setup() raised ${loss.error.type}: ${loss.error.message}`;
  return `replica ${replica} ran past its timeout (${loss.seconds} s per item, ${loss.items} item(s)) and was killed`;
}

/** What a failed line says killed its item: the signal's name when there was one. */
function lossNote(loss: ReplicaLoss, replica: number): string {
  return loss.kind === 'death' ? (loss.death.signal ?? describeDeath(loss.death)) : describeLoss(loss, replica);
}

/**
 * A lost replica's running batch retried or given up on (those lines written), the rest of what
 * it held requeued. `running`: which batch was running, when its host could tell (see ReplicaLoss).
 */
function settleLostWork(session: Session, entry: DeviceEntry, replica: number, cause: LossCause, note: string, running?: number | null): number {
  session.growth.lost(entry.device.index, replica);
  entry.stats.batches.lost(replica); // for the ETA: what it held will not end there
  const { requeued, exhausted } = session.scheduler.replicaLost(entry.device.index, replica, cause, running);
  const lastError = { type: cause, message: note, traceback: '' };
  writeLines(session, exhausted.map((item) => exhaustedRecord(session, item, entry, replica, lastError)), entry);
  entry.stats.retries += requeued;
  return requeued;
}

/** A replica is gone (it died, its setup failed, or it was killed for running past its timeout). */
export function replicaLost(session: Session, entry: DeviceEntry, replica: number, loss: ReplicaLoss): void {
  const lost = session.fleet.replica(entry.device.index, replica);
  if (!lost || lost.lossHandled) return;
  lost.lossHandled = true;
  if (lost.ready) entry.stats.replicasReady = Math.max(0, entry.stats.replicasReady - 1);
  const requeued = settleLostWork(session, entry, replica, causeOf(loss), lossNote(loss, replica), loss.kind === 'death' ? loss.running : undefined);
  if (session.scheduler.isDone || session.flags.draining) return;
  const why = describeLoss(loss, replica);
  const error = loss.kind === 'setup failed' ? loss.error : undefined;
  session.warnings.warn(`down-${entry.device.index}`, `${entry.device.label}: ${why}${requeued > 0 ? `; ${requeued} unfinished item(s) go back to the queue` : ''}`);
  if (error && session.config.verbose) session.view.log(error.traceback);
  const decision = session.restarts.lost(entry.device.index, replica, !lost.ready, why);
  if (decision.action === 'remove-device') return removeDevice(session, entry, decision.reason, error);
  entry.stats.state = entry.stats.replicasReady > 0 ? 'running' : 'restarting';
  entry.stats.restarts += 1;
  const incarnation = session.fleet.hostIncarnation(entry.device.index);
  session.clock.after(decision.delayMs, () => session.queue.push({ type: 'restart-replica', device: entry.device.index, replica, incarnation }));
}

/**
 * A device host exited: every replica under it died with it (PR_SET_PDEATHSIG). While the run
 * drains, its work is settled too (it goes back to the queue, for --resume) but it is not
 * restarted, so the drain ends when the live hosts' batches have, not at the grace's end: under
 * Slurm, the SIGTERM of a time limit also reaches srun, which kills its step at once.
 */
export function hostLost(session: Session, entry: DeviceEntry, exit: HostExit): void {
  const { fleet, flags } = session;
  if (session.scheduler.isDone || !fleet.isCurrentHost(exit.device, exit.incarnation)) return;
  // A host killed for its silence: why first (on another node, the cause is its node or the network), then what its launcher saw.
  const silence = `it sent no heartbeat for ${HEARTBEAT_TIMEOUT_MS / 1000} s (hung, its node down, or the network to it cut) and was given up on`;
  const why = fleet.wasSilenced(exit.device, exit.incarnation) ? `${silence}: ${describeDeath(exit.death)}` : describeDeath(exit.death);
  let anyReady = false;
  for (let replica = 0; replica < session.slotsPerDevice; replica += 1) {
    const lost = fleet.replica(exit.device, replica);
    anyReady ||= lost?.ready ?? false;
    if (lost && !lost.lossHandled) {
      lost.lossHandled = true;
      settleLostWork(session, entry, replica, 'killed', why); // not of their items' doing
    }
  }
  entry.stats.replicasReady = 0;
  if (flags.draining) return;
  if (exit.death.exitCode === EXIT_BAD_LAUNCH_CONFIG) {
    session.flags.fatal = new SetupError(`${entry.device.label}: ${why}: it cannot run with this controller.${session.tails.of(exit.device)}`);
    return;
  }
  session.warnings.warn(`down-${exit.device}`, `${entry.device.label}: ${why}${session.config.verbose ? '' : session.tails.of(exit.device)}`);
  // For the summary: a host lost on another node names the node (in the label) and what its launcher saw.
  // The first such loss, which says why: the restarts that follow on a lost node only fail.
  if (exit.death.launcher !== undefined) entry.stats.note ??= `its device host was lost: ${why}`;
  const decision = session.restarts.lost(exit.device, -1, !anyReady, why);
  if (decision.action === 'remove-device') return removeDevice(session, entry, decision.reason);
  entry.stats.state = 'restarting';
  entry.stats.restarts += 1;
  session.clock.after(decision.delayMs, () => session.queue.push({ type: 'restart-host', device: exit.device, incarnation: exit.incarnation }));
}

export function restartReplica(session: Session, device: number, replica: number, incarnation: number): void {
  const { fleet } = session;
  if (session.flags.draining || fleet.isRemoved(device) || fleet.hostIncarnation(device) !== incarnation) return;
  fleet.restartReplica(device, replica);
  session.scheduler.markStarting(device, replica);
}

export function restartHost(session: Session, entry: DeviceEntry, incarnation: number): void {
  const { fleet } = session;
  const device = entry.device.index;
  if (session.flags.draining || fleet.isRemoved(device) || fleet.hostIncarnation(device) !== incarnation) return;
  fleet.startHost(entry.device, session.clock.now());
  for (let replica = 0; replica < session.slotsPerDevice; replica += 1) session.scheduler.markStarting(device, replica);
}

/** The device leaves the run; its work moves to the others. With none left, the run cannot go on. */
export function removeDevice(session: Session, entry: DeviceEntry, reason: string, error?: ErrorInfo): void {
  const device = entry.device.index;
  session.fleet.removeDevice(device);
  session.growth.removed(device);
  for (let replica = 0; replica < session.slotsPerDevice; replica += 1) session.scheduler.removeReplica(device, replica);
  entry.stats.batches.lost();
  entry.stats.state = 'out';
  entry.stats.note = `taken out of the run: ${reason}`;
  session.view.log(`warning: ${entry.device.label} is taken out of the run: ${reason}. Its work moves to the other devices.`);
  if (session.scheduler.liveReplicas > 0 || session.scheduler.isDone) return;
  const written = session.stats.done + session.stats.failed;
  const missing = session.config.launch && session.config.launch.launcher !== 'local' ? neverCheckedIn(session) : [];
  const never = missing.length > 0 ? `\nNever checked in:${missing.map((line) => `\n  ${line}`).join('')}` : '';
  const detail = (error ? `\n${error.traceback.trimEnd()}` : session.tails.of(device)) + never;
  const of = session.stats.total === undefined ? '' : ` of ${session.stats.total}`;
  const message = `no device is left: the last, ${entry.device.label}, ${reason}. ${written}${of} items are in ${session.config.output}; --resume continues once the cause is fixed.${detail}`;
  session.flags.fatal = written === 0 && error ? new SetupError(message) : new RunAbortedError(message);
}
