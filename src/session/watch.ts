/**
 * What the session does on every tick, because no message will tell it to: the controller's
 * heartbeat to its hosts; replicas to add (--workers-per-gpu auto), hosts gone silent, hosts
 * started elsewhere that never checked in, batches past their timeout.
 */
import { HEARTBEAT_TIMEOUT_MS } from '../workers/liveness.js';
import { checkInAtTimeout } from './check-in.js';
import { replicaLost } from './losses.js';
import type { Session } from './state.js';

export function onTick(session: Session): void {
  const { fleet, scheduler, flags, config } = session;
  const now = session.clock.now();
  fleet.heartbeatHosts(now); // while draining too: hosts that stop hearing the controller stop
  if (flags.draining) return;
  checkInAtTimeout(session);
  for (const step of session.growth.tick(now, scheduler.pendingCount > 0)) {
    const entry = session.devices[step.device];
    if (!entry) continue;
    if (step.add) {
      const replica = fleet.addReplica(step.device);
      if (replica !== undefined) scheduler.addReplica(step.device, replica);
    }
    entry.stats.replicas = step.replicas;
    entry.stats.replicaDecision = step.decision;
  }
  for (const device of fleet.silentHosts(now)) {
    if (scheduler.isDone) break;
    session.warnings.warn(`silent-${device}`, `${session.devices[device]?.device.label}: the device host (pid ${fleet.hostPid(device)}) sent no heartbeat for ${HEARTBEAT_TIMEOUT_MS / 1000} s (hung or stopped); killing it to start it again`);
    fleet.killSilentHost(device, now);
  }
  if (config.timeoutSeconds === undefined) return;
  for (const late of scheduler.overdue(now, config.timeoutSeconds * 1000)) {
    const entry = session.devices[late.device];
    if (!entry) continue;
    fleet.killReplica(late.device, late.replica);
    replicaLost(session, entry, late.replica, { kind: 'timed out', seconds: config.timeoutSeconds, items: late.items });
  }
}
