/**
 * Whether each device's current host is alive, as its heartbeats tell: when it was last heard,
 * whether it ever checked in, and whether it was given up on for its silence. Pure bookkeeping
 * with the time passed in; the fleet (fleet.ts) acts on it and the session's watch decides when.
 */

/**
 * How long either side may say nothing (each sends a heartbeat every second) before the other
 * gives up on it: a silent host is taken for hung; a host that hears nothing stops (control.py).
 * 20 s: a host on another node whose controller was SIGKILLed is gone, with its replicas and its
 * GPU, within 30 s; a host blocked for 20 s without a heartbeat thread getting through is hung.
 */
export const HEARTBEAT_TIMEOUT_MS = Number(process.env.GPU_ORCHESTRATE_HEARTBEAT_TIMEOUT ?? 20) * 1000;
/** How often the controller sends each host its heartbeat. */
export const HEARTBEAT_EVERY_MS = 1_000;
/**
 * A new host imports torch before its first heartbeat: it gets this much longer the first time,
 * unless its handle says otherwise (a host started on another node waits for the start-up timeout).
 */
export const FIRST_HEARTBEAT_ALLOWANCE_MS = 60_000;

interface HostLife {
  incarnation: number;
  /** When its last heartbeat came; before the first, when it started plus the allowance. */
  lastHeard: number;
  heardOnce: boolean;
  /** Given up on for its silence: its death says what the launcher saw, this says why. */
  silenced: boolean;
}

export class HostLiveness {
  private readonly hosts = new Map<number, HostLife>();
  /** Devices whose host sent a heartbeat at least once, in any of its starts. */
  private readonly checkedIn = new Set<number>();

  /** A start of the device's host, which may take `allowanceMs` before its first heartbeat. */
  started(device: number, incarnation: number, now: number, allowanceMs = FIRST_HEARTBEAT_ALLOWANCE_MS): void {
    this.hosts.set(device, { incarnation, lastHeard: now + allowanceMs, heardOnce: false, silenced: false });
  }

  /** A heartbeat; true when it is the current start's (a replaced host's late ones do not count). */
  heard(device: number, incarnation: number, now: number): boolean {
    const life = this.hosts.get(device);
    if (!life || life.incarnation !== incarnation) return false;
    life.lastHeard = life.heardOnce ? Math.max(life.lastHeard, now) : now; // the start-up allowance ends here
    life.heardOnce = true;
    this.checkedIn.add(device);
    return true;
  }

  hasCheckedIn(device: number): boolean {
    return this.checkedIn.has(device);
  }

  /** Devices (of those `watched`) whose host has said nothing for longer than the timeout. */
  silent(now: number, watched: (device: number) => boolean): number[] {
    const silent: number[] = [];
    for (const [device, life] of this.hosts) if (watched(device) && now - life.lastHeard > HEARTBEAT_TIMEOUT_MS) silent.push(device);
    return silent;
  }

  /** Given up on for its silence: not reported as silent again before another full timeout (its exit report follows). */
  silenced(device: number, now: number): void {
    const life = this.hosts.get(device);
    if (!life) return;
    life.lastHeard = now;
    life.silenced = true;
  }

  wasSilenced(device: number, incarnation: number): boolean {
    const life = this.hosts.get(device);
    return life !== undefined && life.incarnation === incarnation && life.silenced;
  }
}
