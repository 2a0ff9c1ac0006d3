/**
 * The last stage of the fleet's life: every host and replica stopped. Clean: each replica is told
 * to stop and each host to exit once its replicas have, then whatever is left after `timeoutMs`
 * is stopped (SIGTERM). Otherwise SIGTERM at once (`terminate`), or SIGKILL (`kill`, a second Ctrl-C).
 */
import type { HostHandle } from '../launch/launcher.js';
import { HEARTBEAT_EVERY_MS } from './liveness.js';

export type StopMode = 'clean' | 'terminate' | 'kill';

/** What stopping needs of the fleet (fleet.ts). */
export interface StoppableFleet {
  hostHandles(): Map<number, HostHandle>;
  askToStop(): void;
  silentHosts(now: number): number[];
  heartbeatHosts(now: number): void;
}

export async function stopFleet(fleet: StoppableFleet, mode: StopMode, timeoutMs: number, now: number): Promise<void> {
  const handles = fleet.hostHandles();
  const hosts = [...handles.values()];
  if (mode === 'clean') {
    fleet.askToStop();
    // A host that someone else started is told to shut down; it is gone when it says so (hostLeft).
    for (const host of hosts) if (host.ownProcess === false) host.stop();
  }
  const exited = Promise.all(hosts.map((host) => host.exited));
  // A host that has gone silent cannot stop cleanly: do not wait for it.
  for (const device of fleet.silentHosts(now)) handles.get(device)?.kill();
  if (mode === 'kill') for (const host of hosts) host.kill();
  else if (mode === 'terminate') for (const host of hosts) host.stop();
  // The session's ticks have stopped: hosts still stopping must not take the controller for gone.
  const beating = setInterval(() => fleet.heartbeatHosts(Date.now()), HEARTBEAT_EVERY_MS);
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<'late'>((resolve) => {
    timer = setTimeout(() => resolve('late'), timeoutMs);
  });
  if ((await Promise.race([exited, late])) === 'late') {
    for (const host of hosts) host.stop();
  }
  clearTimeout(timer);
  await exited;
  clearInterval(beating);
}
