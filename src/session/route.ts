/**
 * A message from a host or a replica: checked against what the run knows (device, replica slot,
 * current generation), then handed to what handles its kind. Nothing a stranger sends can stop
 * the run: an unknown sender or a malformed message is a warning.
 */
import { SetupError } from '../errors.js';
import type { Received } from '../transport/sockets.js';
import { replicaDeath } from '../workers/death.js';
import { removeDevice, replicaLost } from './losses.js';
import { settleResult } from './settle.js';
import type { Session } from './state.js';

export function routeMessage(session: Session, received: Received): void {
  if (!received.ok) {
    session.warnings.warn('malformed', `ignored a malformed message on the controller's socket (${received.reason})`);
    return;
  }
  const { event } = received;
  const { fleet, flags } = session;
  const entry = session.devices[event.device];
  if (!entry || ('replica' in event && event.replica >= session.slotsPerDevice)) {
    session.warnings.warn('unknown', `ignored a ${event.kind} message for unknown device ${event.device}${'replica' in event ? ` replica ${event.replica}` : ''}`);
    return;
  }
  if (event.kind === 'host_exit') {
    fleet.hostLeft(event.device, event.incarnation, event.exitcode); // also a removed device's: it was told to leave
    return;
  }
  if (fleet.isRemoved(event.device)) return;
  const { device, stats } = entry;
  const now = session.clock.now();
  switch (event.kind) {
    case 'heartbeat':
      fleet.heartbeat(event.device, event.incarnation, event.pid, now);
      return;
    case 'telemetry':
      stats.recordMemory({ used: event.memory_used, total: event.memory_total, utilization: event.utilization, source: event.source });
      session.growth.memory(event.device, { used: event.memory_used, free: event.memory_free });
      return;
    case 'shared_error':
      // Before anything ran, the script's data cannot be loaded, as it will not be on a retry.
      if (!flags.everReady) flags.fatal = new SetupError(`${event.error.message} (on ${device.label}); nothing ran.\n${event.error.traceback.trimEnd()}`);
      else removeDevice(session, entry, `load_shared() failed on its restarted host: ${event.error.message}`, event.error);
      return;
    case 'ready':
      if (!fleet.ready(event.device, event.replica, event.generation, event.pid)) return; // an older start
      session.scheduler.markReady(event.device, event.replica);
      session.restarts.ready(event.device);
      session.growth.ready(event.device, event.replica);
      flags.everReady = true;
      stats.replicasReady += 1;
      stats.state = 'running';
      stats.firstReadyAt ??= now;
      return;
    case 'results':
      for (const result of event.results) {
        stats.batches.ended(event.replica, result.batch, now); // for the ETA; a batch the replica no longer holds is ignored
        settleResult(session, entry, event.replica, result);
      }
      return;
    case 'taken_back':
      // Given back unstarted, as asked: its items go first in line, for the replica that had none.
      if (session.scheduler.batchTakenBack(event.batch, event.device, event.replica, now)) stats.batches.takenBack(event.replica, event.batch);
      return;
    case 'script_error':
      flags.fatal = new SetupError(event.error.message + (session.config.verbose ? `\n${event.error.traceback}` : ''));
      return;
    case 'setup_error': {
      flags.setupFailed.add(`${event.device}/${event.replica}`);
      const started = session.devices.reduce((sum, { device: { index } }) => sum + fleet.activeReplicas(index), 0);
      if (!flags.everReady && flags.setupFailed.size === started) {
        // Every replica of every device failed the same way before any became ready: a bug in
        // the script or its set-up, not a bad device. Stop now instead of retrying.
        flags.fatal = new SetupError(`setup() raised ${event.error.type}: ${event.error.message}, on every replica; nothing ran.\n${event.error.traceback.trimEnd()}`);
        return;
      }
      replicaLost(session, entry, event.replica, { kind: 'setup failed', error: event.error });
      return;
    }
    case 'replica_exit': {
      const current = fleet.replica(event.device, event.replica);
      if (!current || current.generation !== event.generation) return; // an older start
      replicaLost(session, entry, event.replica, { kind: 'death', death: replicaDeath(event.replica, event.pid, event.exitcode), running: event.running });
      return;
    }
  }
}
