/**
 * Hosts started on other nodes (srun, ssh, external), against the session's fakes: their pid is
 * learnt from their first heartbeat, they are not hurried before it, and the start-up timeout
 * names every node and rank that never checked in, with what its launcher saw.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { onNode } from '../../src/devices/devices.js';
import type { HostHandle, HostSpec, Launcher } from '../../src/launch/launcher.js';
import { checkInVerdict, missingHostText } from '../../src/session/check-in.js';
import { runSession } from '../../src/session/session.js';
import { launcherDeath, type Death } from '../../src/workers/death.js';
import { harness, settle, type Harness } from './fakes.js';

class RemoteHost implements HostHandle {
  readonly pid = undefined;
  readonly firstHeartbeatAllowanceMs = Infinity;
  readonly exited: Promise<Death>;
  end: (launcherSaw: string, exitCode: number) => void = () => undefined;
  constructor(readonly spec: HostSpec) {
    this.exited = new Promise((resolve) => {
      this.end = (launcherSaw, exitCode) => resolve(launcherDeath(spec.device.node, launcherSaw, exitCode));
    });
  }
  stop(): void {
    this.end('its srun was killed by SIGKILL', 137);
  }
  kill(): void {
    this.stop();
  }
  killReplica(): void {}
}

class RemoteLauncher implements Launcher {
  readonly hosts: RemoteHost[] = [];
  start(spec: HostSpec): HostHandle {
    const host = new RemoteHost(spec);
    this.hosts.push(host);
    return host;
  }
  host(device: number): RemoteHost {
    return this.hosts.filter((host) => host.spec.device.index === device).at(-1) as RemoteHost;
  }
}

let current: Harness | undefined;
afterEach(() => current?.cleanup());

/** Two nodes, a CPU device each, started by a remote launcher; `minHosts` of them needed by the 60 s start-up timeout. */
function start(minHosts: number) {
  const h = harness({ devices: 2, replicas: 1, items: 20, batchSize: 2 });
  current = h;
  const launcher = new RemoteLauncher();
  h.setup.devices = ['gpo-n1', 'gpo-n2'].map((node, index) => onNode(node, { index, label: 'cpu:0', kind: 'cpu', visibleDevices: '' }));
  h.setup.config.launch = { launcher: 'slurm', auto: false, minHosts, startTimeoutSeconds: 60 };
  h.transport.onShutdown = (device) => launcher.host(device).end('its srun exited with code 0', 0);
  return { h, launcher, done: runSession(h.setup, { ...h.ports, launcher }) };
}

async function answerAll(h: Harness): Promise<void> {
  const answered = new Set<number>();
  for (;;) {
    await settle();
    const open = h.transport.batches().filter((entry) => !answered.has(entry.batch));
    if (open.length === 0) return;
    for (const entry of open) {
      answered.add(entry.batch);
      h.transport.results(entry.device, entry.replica, [{ batch: entry.batch, outcomes: entry.inputs.map(() => ({ ok: true, result: 1, seconds: 0.01 })) }]);
    }
  }
}

describe('hosts on other nodes', () => {
  it('work starts with the first host that checks in; the one that never does is named at the start-up timeout, with what srun said', async () => {
    const { h, launcher, done } = start(1);
    await settle();
    expect(launcher.hosts.map((host) => host.spec.config.device_label)).toEqual(['gpo-n1:cpu:0', 'gpo-n2:cpu:0']);
    h.transport.emit({ kind: 'heartbeat', device: 0, pid: 4242, incarnation: 0 });
    h.transport.emit({ kind: 'ready', device: 0, replica: 0, pid: 4243, generation: 0 });
    await settle();
    expect(h.transport.batches().every((batch) => batch.device === 0)).toBe(true);
    expect(h.transport.batches().length).toBeGreaterThan(0);
    // Ten minutes without a word from the host on gpo-n2: not killed as silent (it never checked in),
    // but named once the start-up timeout has passed.
    for (let second = 0; second < 600; second += 5) {
      h.clock.advance(5_000);
      h.transport.emit({ kind: 'heartbeat', device: 0, pid: 4242, incarnation: 0 });
      h.clock.tick();
    }
    await settle();
    expect(launcher.hosts).toHaveLength(2);
    const said = h.stderr.join('');
    expect(said).toMatch(/1 of 2 device hosts had not checked in after --start-timeout 60 s; the run goes on without them:\n {2}gpo-n2:cpu:0 \(rank 1 on gpo-n2\): started, never checked in/);
    await answerAll(h);
    expect(await done).toBe(0);
    expect(h.output()).toHaveLength(20);
  });

  it("a heartbeat from another start of the host (another incarnation and pid) does not count as the current one's, whose pid is its first heartbeat's", async () => {
    const { h, launcher, done } = start(1);
    await settle();
    h.transport.emit({ kind: 'heartbeat', device: 0, pid: 100, incarnation: 0 });
    h.transport.emit({ kind: 'ready', device: 0, replica: 0, pid: 101, generation: 0 });
    h.transport.emit({ kind: 'heartbeat', device: 1, pid: 200, incarnation: 0 });
    await settle();
    // Only incarnation 0's heartbeats count for device 0: after 31 s of a stranger's, it is silent and killed (named by the pid its first heartbeat gave).
    for (let second = 0; second < 31; second += 1) {
      h.clock.advance(1_000);
      h.transport.emit({ kind: 'heartbeat', device: 0, pid: 999, incarnation: 7 });
      h.transport.emit({ kind: 'heartbeat', device: 1, pid: 200, incarnation: 0 });
      h.clock.tick();
    }
    await settle();
    expect(h.stderr.join('')).toMatch(/gpo-n1:cpu:0: the device host \(pid 100\) sent no heartbeat for 20 s/);
    h.clock.advance(1_000); // its exit settles
    await settle();
    // Its loss says why first (silence: on another node, the node or the network), then what srun saw.
    expect(h.stderr.join('')).toMatch(/gpo-n1:cpu:0: it sent no heartbeat for 20 s \(hung, its node down, or the network to it cut\) and was given up on: the device host on gpo-n1 is gone: its srun was killed by SIGKILL/);
    h.signal('SIGINT');
    h.signal('SIGINT');
    await done;
    expect(launcher.hosts.length).toBeGreaterThanOrEqual(2);
  });

  it('fewer hosts than --min-hosts by the start-up timeout: the run stops, naming each node and rank with srun\'s exit', async () => {
    const { h, launcher, done } = start(2);
    const outcome = done.then(() => undefined, (thrown: unknown) => thrown as Error & { exitCode: number });
    await settle();
    h.transport.emit({ kind: 'heartbeat', device: 0, pid: 4242, incarnation: 0 });
    launcher.host(1).end('its srun exited with code 1 after: srun: error: Unable to create step for job 7: Requested node configuration is not available', 1);
    for (let second = 0; second < 61; second += 1) {
      h.clock.advance(1_000);
      h.transport.emit({ kind: 'heartbeat', device: 0, pid: 4242, incarnation: 0 });
      h.clock.tick();
      await settle();
    }
    const error = await outcome;
    expect(error?.exitCode).toBe(3); // nothing ran
    expect(error?.message).toMatch(/only 1 of 2 device hosts checked in within --start-timeout 60 s, fewer than --min-hosts 2\. Never checked in:\n {2}gpo-n2:cpu:0 \(rank 1 on gpo-n2\): the device host on gpo-n2 is gone: its srun exited with code 1 after: srun: error: Unable to create step/);
    expect(error?.message).toMatch(/gpu-orchestrate doctor --launcher slurm checks every node/);
  });

  it("a host lost with its node: its work goes back to the queue, the run ends on the other, and the summary names the node", async () => {
    const { h, launcher, done } = start(1);
    await settle();
    for (const device of [0, 1]) {
      h.transport.emit({ kind: 'heartbeat', device, pid: 10 + device });
      h.transport.emit({ kind: 'ready', device, replica: 0, pid: 20 + device, generation: 0 });
    }
    await settle();
    expect(h.transport.batches().some((batch) => batch.device === 1)).toBe(true);
    // gpo-n2's link goes down: after SlurmdTimeout its srun says so and exits 0; srun cannot start a step there again.
    launcher.host(1).end('its srun exited with code 0 after: srun: error: Node failure on gpo-n2', 0);
    for (let attempt = 0; attempt < 5; attempt += 1) {
      h.clock.advance(1_000); // the exit settles, then a restart after its back-off
      await settle();
      launcher.host(1).end('its srun exited with code 1 after: srun: error: Unable to create step for job 7', 1);
      h.clock.advance(60_000);
      await settle();
    }
    await answerAll(h);
    expect(await done).toBe(0);
    const lines = h.output();
    expect(new Set(lines.map((line) => line.id)).size).toBe(20);
    expect(lines).toHaveLength(20);
    const said = h.stderr.join('');
    expect(said).toMatch(/warning: gpo-n2:cpu:0: the device host on gpo-n2 is gone: its srun exited with code 0 after: srun: error: Node failure on gpo-n2/);
    // The summary's note: the first loss, which says why.
    expect(said.slice(said.indexOf('device  '))).toMatch(/\ngpo-n2:cpu:0: its device host was lost: the device host on gpo-n2 is gone: its srun exited with code 0 after: srun: error: Node failure on gpo-n2\n/);
  });
});

describe('draining with hosts on other nodes', () => {
  it("a host lost while the run drains (srun kills its step on Slurm's SIGTERM): its work waits for --resume, and the drain does not wait for the grace", async () => {
    const { h, launcher, done } = start(1);
    await settle();
    for (const device of [0, 1]) {
      h.transport.emit({ kind: 'heartbeat', device, pid: 10 + device });
      h.transport.emit({ kind: 'ready', device, replica: 0, pid: 20 + device, generation: 0 });
    }
    await settle();
    const held = h.transport.batches();
    expect(new Set(held.map((batch) => batch.device))).toEqual(new Set([0, 1]));
    h.signal('SIGTERM');
    await settle();
    // The batches of device 0 finish within the grace; device 1's host is killed with its srun.
    for (const batch of held.filter((entry) => entry.device === 0)) {
      h.transport.results(0, 0, [{ batch: batch.batch, outcomes: batch.inputs.map(() => ({ ok: true, result: 1, seconds: 0.01 })) }]);
    }
    launcher.host(1).end('its srun exited with code 137 after: srun: forcing job termination', 137);
    await settle();
    h.clock.advance(1_000); // the exit settles; far less than the heartbeat timeout
    await settle();
    expect(await done).toBe(130);
    const written = new Set(h.output().map((line) => line.id));
    const deviceOne = held.filter((entry) => entry.device === 1).flatMap((entry) => entry.inputs.map((input) => `item-${String(input)}`));
    expect(deviceOne.filter((id) => written.has(id))).toEqual([]);
    expect(written.size).toBe(held.filter((entry) => entry.device === 0).flatMap((entry) => entry.inputs).length);
    expect(launcher.hosts).toHaveLength(2); // not restarted while draining
  });
});

describe('the start-up verdict', () => {
  const check = { expected: 4, minHosts: 1, timeoutSeconds: 600, launcher: 'slurm', everReady: true };
  it('is silent when every host checked in, a warning above --min-hosts, an error below it', () => {
    expect(checkInVerdict({ ...check, checkedIn: 4, missing: [] })).toEqual({});
    const missing = [missingHostText('node9:cuda:1', 3, 'node9', undefined)];
    expect(checkInVerdict({ ...check, checkedIn: 3, missing }).warning).toBe(
      '1 of 4 device hosts had not checked in after --start-timeout 600 s; the run goes on without them:\n  node9:cuda:1 (rank 3 on node9): started, never checked in (still starting, or its launcher has not run it)',
    );
    const fatal = checkInVerdict({ ...check, minHosts: 4, checkedIn: 3, missing }).fatal;
    expect(fatal?.exitCode).toBe(4); // some work ran: what finished is in the output
    expect(fatal?.message).toMatch(/^only 3 of 4 device hosts checked in .* fewer than --min-hosts 4\. Never checked in:\n {2}node9:cuda:1 \(rank 3 on node9\)/);
  });
});
