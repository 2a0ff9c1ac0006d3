/**
 * The run's processes: one device host per device, the replicas under them, and which start
 * ("generation") of each replica is the current one, so that reports from a replica that was
 * already replaced are recognised and dropped. Mechanisms only: when to restart is decided in
 * src/scheduler/restarts.ts, how a host is started is the launcher's (src/launch/), and whether
 * a host is alive is its heartbeats' bookkeeping (liveness.ts).
 */
import type { Device } from '../devices/devices.js';
import { hostEnvironment, hostLaunchConfig, type HostTemplate } from '../launch/host-config.js';
import type { HostHandle, Launcher } from '../launch/launcher.js';
import { heartbeatCommand, shutdownCommand, startCommand, stopMessage, type HostPeer, type ReplicaPeer } from '../transport/messages.js';
import type { SessionTransport } from '../transport/sockets.js';
import type { Death } from './death.js';
import { HEARTBEAT_EVERY_MS, HostLiveness } from './liveness.js';
import { stopFleet, type StopMode } from './stop-fleet.js';

/** A host's exit, with which start of which device's host it was. */
export interface HostExit {
  device: number;
  /** Which start of this device's host exited: a restart gets the next number. */
  incarnation: number;
  death: Death;
}

export interface FleetOptions {
  /** How many replicas each device starts with (--workers-per-gpu auto starts one). */
  initialReplicas: (device: number) => number;
  /** What every host is started with; its slotsPerDevice is the most replicas a device may have. */
  template: HostTemplate;
  onOutput: (device: Device, line: string) => void;
  onHostExit: (exit: HostExit) => void;
}

interface ReplicaProcess {
  generation: number;
  pid: number | undefined;
  ready: boolean;
  /** The loss of this generation was handled already (a setup error, then its exit, say). */
  lossHandled: boolean;
}

interface HostEntry {
  host: HostHandle;
  incarnation: number;
  /** The pid its heartbeats carry: the handle's, or else the first heartbeat's (a host started on another node). */
  pid: number | undefined;
  removed: boolean;
}

export class Fleet {
  private readonly hosts = new Map<number, HostEntry>();
  private readonly replicas = new Map<string, ReplicaProcess>();
  /**
   * Replicas in use per device: replicas 0..n-1. It only grows (--workers-per-gpu auto), up to
   * the slots; a restarted host starts all n again.
   */
  private readonly active = new Map<number, number>();
  private readonly liveness = new HostLiveness();
  /** How each device's host last ended, as its launcher saw it. */
  private readonly lastDeaths = new Map<number, Death>();
  private lastHeartbeatSent = -Infinity;

  constructor(
    private readonly devices: Device[],
    private readonly transport: SessionTransport,
    private readonly launcher: Launcher,
    private readonly options: FleetOptions,
  ) {
    for (const device of devices) this.active.set(device.index, Math.min(options.template.slotsPerDevice, options.initialReplicas(device.index)));
  }

  activeReplicas(device: number): number {
    return this.active.get(device) ?? 0;
  }

  /**
   * Start one more replica under the device's running host, into the next slot; returns its
   * index, or undefined when every slot is in use.
   */
  addReplica(device: number): number | undefined {
    const replica = this.activeReplicas(device);
    if (replica >= this.options.template.slotsPerDevice) return undefined;
    this.active.set(device, replica + 1);
    this.restartReplica(device, replica); // its first generation: the host starts it as for a restart
    return replica;
  }

  private key(device: number, replica: number): string {
    return `${device}/${replica}`;
  }

  replica(device: number, replica: number): ReplicaProcess | undefined {
    return this.replicas.get(this.key(device, replica));
  }

  /** The current start of a replica, as the transport addresses it. */
  replicaPeer(device: number, replica: number): ReplicaPeer {
    return { device, replica, generation: this.replica(device, replica)?.generation ?? 0 };
  }

  /** The current start of a device's host, as the transport addresses it. */
  hostPeer(device: number): HostPeer {
    return { device, incarnation: this.hostIncarnation(device) };
  }

  /** What waits for a device's host and replicas is for starts that are gone (a restart, or the device out). */
  private forgetDevice(device: number): void {
    if (!this.hosts.has(device)) return;
    this.transport.forget(this.hostPeer(device));
    for (let replica = 0; replica < this.activeReplicas(device); replica += 1) this.transport.forget(this.replicaPeer(device, replica));
  }

  /** Start (or start again) a device's host; every replica under it starts as a new generation. */
  startHost(device: Device, now: number): void {
    const previous = this.hosts.get(device.index);
    this.forgetDevice(device.index);
    const generations = Array.from({ length: this.activeReplicas(device.index) }, (_, replica) => {
      const current = this.replica(device.index, replica);
      return current === undefined ? 0 : current.generation + 1;
    });
    generations.forEach((generation, replica) => {
      this.replicas.set(this.key(device.index, replica), { generation, pid: undefined, ready: false, lossHandled: false });
    });
    const incarnation = previous ? previous.incarnation + 1 : 0;
    const { template } = this.options;
    const host = this.launcher.start({
      device,
      python: template.python,
      config: hostLaunchConfig(template, { device, incarnation, generations }, this.transport.access),
      env: hostEnvironment(device, template.threadsPerReplica),
      onOutput: (line) => this.options.onOutput(device, line),
    });
    this.liveness.started(device.index, incarnation, now, host.firstHeartbeatAllowanceMs);
    this.hosts.set(device.index, { host, incarnation, pid: host.pid, removed: false });
    void host.exited.then((death) => {
      this.lastDeaths.set(device.index, death);
      this.options.onHostExit({ device: device.index, incarnation, death });
    });
  }

  /** Is this the current start of that device's host? (An old one's exit is old news.) */
  isCurrentHost(device: number, incarnation: number): boolean {
    const entry = this.hosts.get(device);
    return entry !== undefined && !entry.removed && entry.incarnation === incarnation;
  }

  hostIncarnation(device: number): number {
    return this.hosts.get(device)?.incarnation ?? -1;
  }

  hostPid(device: number): number | undefined {
    return this.hosts.get(device)?.pid;
  }

  /** Has the device's host ever sent a heartbeat (checked in)? */
  hasCheckedIn(device: number): boolean {
    return this.liveness.hasCheckedIn(device);
  }

  /** How the device's host last ended, if it has. */
  lastDeath(device: number): Death | undefined {
    return this.lastDeaths.get(device);
  }

  /** Start a replica again under its running host, as the next generation. */
  restartReplica(device: number, replica: number): void {
    const current = this.replica(device, replica);
    if (current) this.transport.forget(this.replicaPeer(device, replica));
    const generation = (current?.generation ?? -1) + 1;
    this.replicas.set(this.key(device, replica), { generation, pid: undefined, ready: false, lossHandled: false });
    this.transport.command(this.hostPeer(device), startCommand(replica, generation));
  }

  /** A ready report: true when it comes from the current generation (then the pid is noted). */
  ready(device: number, replica: number, generation: number, pid: number): boolean {
    const current = this.replica(device, replica);
    if (!current || current.generation !== generation) return false;
    current.pid = pid;
    current.ready = true;
    return true;
  }

  /**
   * A heartbeat from the device's current host (a replaced one's may still arrive). Only the
   * host's own count: its replicas keep working while it is hung, but a hung host can neither
   * report a replica's death nor restart one, so it must be found and replaced. A host whose pid
   * its launcher does not know (srun, ssh, external) is known by its first heartbeat's.
   */
  heartbeat(device: number, incarnation: number, pid: number, now: number): void {
    const entry = this.hosts.get(device);
    if (entry && this.liveness.heard(device, incarnation, now)) entry.pid ??= pid;
  }

  /** A host's last message (host_exit): a handle that cannot see its process end learns it here. */
  hostLeft(device: number, incarnation: number, exitcode: number): void {
    const entry = this.hosts.get(device);
    if (entry && entry.incarnation === incarnation) entry.host.left?.(exitcode);
  }

  /** The controller's heartbeat to every host in the run, once a second: a host that stops hearing it stops. */
  heartbeatHosts(now: number): void {
    if (now - this.lastHeartbeatSent < HEARTBEAT_EVERY_MS) return;
    this.lastHeartbeatSent = now;
    for (const [device, entry] of this.hosts) if (!entry.removed) this.transport.command(this.hostPeer(device), heartbeatCommand);
  }


  silentHosts(now: number): number[] {
    return this.liveness.silent(now, (device) => this.hosts.get(device)?.removed === false);
  }

  killReplica(device: number, replica: number): void {
    const pid = this.replica(device, replica)?.pid;
    if (pid !== undefined) this.hosts.get(device)?.host.killReplica(pid);
  }

  /** Kill a host that went silent; it is not reported as silent again before another full timeout (its exit report follows). */
  killSilentHost(device: number, now: number): void {
    const entry = this.hosts.get(device);
    if (!entry) return;
    this.liveness.silenced(device, now);
    entry.host.kill();
  }

  /** Was this start of the device's host given up on for its silence? */
  wasSilenced(device: number, incarnation: number): boolean {
    return this.liveness.wasSilenced(device, incarnation);
  }

  /** Take a device out of the run: its host is stopped and its reports are ignored from now on. */
  removeDevice(device: number): void {
    const entry = this.hosts.get(device);
    if (!entry) return;
    entry.removed = true;
    this.transport.command(this.hostPeer(device), shutdownCommand); // what a host started by someone else hears
    entry.host.stop();
    this.forgetDevice(device);
  }

  isRemoved(device: number): boolean {
    return this.hosts.get(device)?.removed ?? false;
  }

  /** The hosts of every start still tracked, by device: what stopping the run waits for (stop-fleet.ts). */
  hostHandles(): Map<number, HostHandle> {
    return new Map([...this.hosts].map(([device, entry]) => [device, entry.host]));
  }

  /** The clean way to stop: each replica is told to stop, each host to exit once its replicas have. */
  askToStop(): void {
    for (const device of this.devices) {
      for (let replica = 0; replica < this.activeReplicas(device.index); replica += 1) this.transport.trySend(this.replicaPeer(device.index, replica), stopMessage);
      this.transport.command(this.hostPeer(device.index), shutdownCommand);
    }
  }

  /** Stop everything (stop-fleet.ts). */
  stopAll(mode: StopMode, timeoutMs: number, now: number): Promise<void> {
    return stopFleet(this, mode, timeoutMs, now);
  }
}
