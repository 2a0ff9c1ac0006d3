/**
 * What the session addresses, and to which start of a process: the controller's heartbeat to
 * each host, batches to the current generation of a replica, what waited for a replaced start
 * forgotten, and heartbeats that count only from the current start of a host.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { runSession } from '../../src/session/session.js';
import { harness, settle, type Harness } from './fakes.js';

let current: Harness | undefined;
afterEach(() => current?.cleanup());

function start(options: Parameters<typeof harness>[0]): { h: Harness; done: Promise<number> } {
  const h = harness(options);
  current = h;
  return { h, done: runSession(h.setup, h.ports) };
}

async function tickFor(h: Harness, ms: number, step = 250): Promise<void> {
  for (let elapsed = 0; elapsed < ms; elapsed += step) {
    h.clock.advance(step);
    h.clock.tick();
    await settle();
  }
}

describe('the controller and the starts of its hosts and replicas', () => {
  it('sends every host a heartbeat once a second, also while draining after Ctrl-C', async () => {
    const { h, done } = start({ devices: 2, replicas: 1, items: 4, batchSize: 2, prefetch: 1 });
    await settle();
    await tickFor(h, 3_000);
    expect(h.transport.heartbeats.filter((peer) => peer.device === 0)).toHaveLength(3);
    expect(h.transport.heartbeats.filter((peer) => peer.device === 1)).toHaveLength(3);
    h.transport.emit({ kind: 'ready', device: 0, replica: 0, pid: 5000, generation: 0 });
    await settle();
    h.signal('SIGINT'); // a batch is in flight: the run drains
    await tickFor(h, 2_000);
    expect(h.transport.heartbeats).toHaveLength(6 + 4);
    for (const batch of h.transport.batches()) {
      h.transport.results(batch.device, batch.replica, [{ batch: batch.batch, outcomes: batch.inputs.map(() => ({ ok: true, result: 1, seconds: 0 })) }]);
    }
    expect(await done).toBe(130);
  });

  it('a restarted replica gets its batches as its new generation; what waited for the old one is forgotten', async () => {
    const { h, done } = start({ devices: 1, replicas: 1, items: 8, batchSize: 2, prefetch: 1 });
    await settle();
    h.transport.emit({ kind: 'ready', device: 0, replica: 0, pid: 5000, generation: 0 });
    await settle();
    expect(h.transport.batches().map((entry) => entry.generation)).toEqual([0]);
    h.transport.emit({ kind: 'replica_exit', device: 0, replica: 0, pid: 5000, exitcode: -9, generation: 0, running: h.transport.batches()[0]?.batch });
    await settle();
    h.clock.advance(500); // the restart back-off
    await settle();
    expect(h.transport.forgotten).toContainEqual({ device: 0, replica: 0, generation: 0 });
    h.transport.emit({ kind: 'ready', device: 0, replica: 0, pid: 5001, generation: 1 });
    for (;;) {
      await settle();
      const open = h.transport.batches().filter((entry) => entry.generation === 1 && !h.output().some((line) => line.input === entry.inputs[0]));
      if (open.length === 0) break;
      for (const entry of open) h.transport.results(0, 0, [{ batch: entry.batch, outcomes: entry.inputs.map(() => ({ ok: true, result: 1, seconds: 0 })) }]);
    }
    expect(await done).toBe(0);
    expect(h.transport.batches().slice(1).every((entry) => entry.generation === 1)).toBe(true);
    expect(h.output()).toHaveLength(8);
  });

  it('only the current start of a host keeps it alive: a replaced one\'s heartbeats do not count', async () => {
    const { h, done } = start({ devices: 1, replicas: 1, items: 2, batchSize: 2, prefetch: 1 });
    await settle();
    h.transport.emit({ kind: 'ready', device: 0, replica: 0, pid: 5000, generation: 0 });
    h.transport.emit({ kind: 'heartbeat', device: 0, pid: 1000, incarnation: 0 }); // its first: the start-up allowance ends
    await settle();
    for (let second = 0; second < 31; second += 1) {
      h.transport.emit({ kind: 'heartbeat', device: 0, pid: 1000, incarnation: 7 }); // not this run's start of the host
      await tickFor(h, 1_000, 1_000);
    }
    expect(h.stderr.join('')).toMatch(/cpu:0: the device host \(pid 1000\) sent no heartbeat for 20 s/);
    await tickFor(h, 3_000); // its exit settles, then the restart back-off
    expect(h.launcher.hosts.map((host) => host.spec.config.incarnation)).toEqual([0, 1]);
    expect(h.transport.forgotten).toContainEqual({ device: 0, incarnation: 0 });
    await tickFor(h, 1_000);
    expect(h.transport.heartbeats.at(-1)).toEqual({ device: 0, incarnation: 1 });
    h.signal('SIGINT');
    h.signal('SIGINT');
    await done;
  });
});
