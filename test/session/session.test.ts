/**
 * The session against fake sockets, launcher, clock and signals: a run's logic (what is written,
 * retried, restarted, stopped) without a Python process. Each test reads the output file the
 * session wrote and what it told the user, as a user would.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { Journal } from '../../src/journal/journal.js';
import { runSession } from '../../src/session/session.js';
import { PROTOCOL_VERSION } from '../../src/transport/messages.js';
import { harness, settle, type Harness } from './fakes.js';

let current: Harness | undefined;
afterEach(() => current?.cleanup());

function start(options: Parameters<typeof harness>[0]): { h: Harness; done: Promise<number> } {
  const h = harness(options);
  current = h;
  return { h, done: runSession(h.setup, h.ports) };
}

/** Every replica of every device says it is ready, and every host sends a heartbeat. */
function readyAll(h: Harness, devices: number, replicas: number): void {
  for (let device = 0; device < devices; device += 1) {
    h.transport.emit({ kind: 'heartbeat', device, pid: h.launcher.host(device).pid, incarnation: 0 });
    for (let replica = 0; replica < replicas; replica += 1) h.transport.emit({ kind: 'ready', device, replica, pid: 5000 + device * 10 + replica, generation: 0 });
  }
}

const answered = new WeakMap<Harness, Set<number>>();

/** The replica that holds `batch` sends its results: every item ok, its input doubled. */
function answer(h: Harness, batch: number): void {
  const sent = h.transport.batches().find((entry) => entry.batch === batch);
  if (!sent) throw new Error(`batch ${batch} was never sent`);
  const outcomes = sent.inputs.map((input) => ({ ok: true, result: Number(input) * 2, seconds: 0.01 }));
  h.transport.results(sent.device, sent.replica, [{ batch, outcomes }]);
  const set = answered.get(h) ?? new Set<number>();
  set.add(batch);
  answered.set(h, set);
}

/** Answers every batch sent and not yet answered, until nothing new is sent. */
async function answerEverything(h: Harness, skip: (batch: { device: number; replica: number; batch: number }) => boolean = () => false): Promise<void> {
  for (;;) {
    await settle();
    const open = h.transport.batches().filter((entry) => !answered.get(h)?.has(entry.batch) && !skip(entry));
    if (open.length === 0) return;
    for (const entry of open) answer(h, entry.batch);
  }
}

function ids(lines: Record<string, unknown>[]): string[] {
  return lines.map((line) => String(line.id)).sort();
}

function allIds(count: number): string[] {
  return Array.from({ length: count }, (_, index) => `item-${index}`).sort();
}

describe('session with fake hosts', () => {
  it('starts one host per device with its launch config, and writes every item once', async () => {
    const { h, done } = start({ devices: 2, replicas: 2, items: 40, batchSize: 4 });
    await settle();
    expect(h.launcher.hosts.map((host) => host.spec.config.device_label)).toEqual(['cpu:0', 'cpu:1']);
    expect(h.launcher.hosts[0]?.spec.config).toMatchObject({ protocol_version: PROTOCOL_VERSION, replicas: 2, slots: 2, generations: [0, 0], incarnation: 0, endpoint: 'ipc://fake/controller', curve: {} });
    readyAll(h, 2, 2);
    await answerEverything(h);
    expect(await done).toBe(0);
    const lines = h.output();
    expect(ids(lines)).toEqual(allIds(40));
    expect(lines.every((line) => line.ok === true && line.result === Number(String(line.id).slice(5)) * 2)).toBe(true);
    expect(new Set(lines.map((line) => line.device))).toEqual(new Set(['cpu:0', 'cpu:1']));
    expect(h.transport.commands.filter((entry) => entry.message.kind === 'shutdown')).toHaveLength(2);
    expect(h.transport.closed).toBe(true);
  });

  it('a replica that dies with batches in flight: its running batch is retried alone, its waiting batch goes back unpunished', async () => {
    const { h, done } = start({ devices: 1, replicas: 1, items: 16, batchSize: 4, prefetch: 2 });
    await settle();
    readyAll(h, 1, 1);
    await settle();
    const held = h.transport.batches();
    expect(held).toHaveLength(2); // one running, one waiting
    h.transport.emit({ kind: 'replica_exit', device: 0, replica: 0, pid: 5000, exitcode: -11, generation: 0, running: held[0]?.batch }); // its host read the marker: the first batch was running
    await settle();
    expect(h.stderr.join('')).toMatch(/cpu:0: replica 0 \(pid 5000\) was killed by SIGSEGV; 8 unfinished item\(s\) go back to the queue/);
    expect(h.transport.commands.filter((entry) => entry.message.kind === 'start')).toHaveLength(0); // the back-off first
    h.clock.advance(500);
    await settle();
    expect(h.transport.commands.filter((entry) => entry.message.kind === 'start')).toEqual([{ device: 0, message: { v: PROTOCOL_VERSION, kind: 'start', replica: 0, generation: 1 } }]);
    h.transport.emit({ kind: 'ready', device: 0, replica: 0, pid: 5100, generation: 1 });
    await answerEverything(h, (entry) => held.some((old) => old.batch === entry.batch)); // the dead replica answers nothing
    expect(await done).toBe(0);
    const lines = h.output();
    expect(ids(lines)).toEqual(allIds(16));
    const running = new Set(held[0]?.inputs.map((input) => `item-${input}`));
    const waiting = new Set(held[1]?.inputs.map((input) => `item-${input}`));
    expect(lines.filter((line) => running.has(String(line.id))).map((line) => line.attempts)).toEqual([2, 2, 2, 2]);
    expect(lines.filter((line) => waiting.has(String(line.id))).map((line) => line.attempts)).toEqual([1, 1, 1, 1]);
    // The suspects ran one at a time, each alone on its replica.
    const retries = h.transport.batches().filter((entry) => entry.batch > (held[1]?.batch ?? 0) && entry.inputs.some((input) => running.has(`item-${input}`)));
    expect(retries.map((entry) => entry.inputs.length)).toEqual([1, 1, 1, 1]);
  });

  it('a host gone silent is killed, its work requeued, and the host started again', async () => {
    const { h, done } = start({ devices: 2, replicas: 1, items: 12, batchSize: 2, prefetch: 1 });
    await settle();
    readyAll(h, 2, 1);
    await settle();
    const silent = h.launcher.host(0);
    h.clock.advance(31_000);
    h.transport.emit({ kind: 'heartbeat', device: 1, pid: h.launcher.host(1).pid, incarnation: 0 }); // device 1 speaks; device 0 does not
    h.clock.tick();
    await settle();
    expect(h.stderr.join('')).toMatch(/cpu:0: the device host \(pid 1000\) sent no heartbeat for 20 s/);
    h.clock.advance(600); // its exit settles, then the restart back-off
    await settle();
    h.clock.advance(1_000);
    await settle();
    expect(h.launcher.hosts.filter((host) => host.spec.device.index === 0)).toHaveLength(2);
    expect(h.launcher.host(0).spec.config.generations).toEqual([1]);
    h.transport.emit({ kind: 'ready', device: 0, replica: 0, pid: 5200, generation: 0 }); // the old generation: ignored
    h.transport.emit({ kind: 'ready', device: 0, replica: 0, pid: 5201, generation: 1 });
    await answerEverything(h, (entry) => entry.device === 0 && entry.batch === 0); // the silent host's batch never answers
    expect(await done).toBe(0);
    expect(ids(h.output())).toEqual(allIds(12));
    expect(silent).not.toBe(h.launcher.host(0));
  });

  it('a result for a batch already finished elsewhere is dropped, and one for a batch never sent is a warning', async () => {
    const { h, done } = start({ devices: 2, replicas: 1, items: 8, batchSize: 2, prefetch: 1 });
    await settle();
    readyAll(h, 2, 1);
    await settle();
    const [first, second] = h.transport.batches();
    expect([first?.device, second?.device]).toEqual([0, 1]);
    h.transport.emit({ kind: 'replica_exit', device: 0, replica: 0, pid: 5000, exitcode: -9, generation: 0, running: first?.batch });
    answer(h, second?.batch ?? -1);
    for (const suspect of first?.inputs ?? []) {
      await settle();
      const retry = h.transport.batches().at(-1);
      expect(retry).toMatchObject({ device: 1, inputs: [suspect] }); // alone, on the other device
      answer(h, retry?.batch ?? -1);
    }
    await settle();
    // The dead replica's result arrives late, after its items were written by device 1.
    const outcomes = first?.inputs.map(() => ({ ok: true, result: 'late', seconds: 0 })) ?? [];
    h.transport.results(0, 0, [{ batch: first?.batch ?? -1, outcomes }]);
    h.transport.results(1, 0, [{ batch: 999, outcomes }]);
    await answerEverything(h, (entry) => entry.device === 0);
    expect(await done).toBe(0);
    const lines = h.output();
    expect(ids(lines)).toEqual(allIds(8));
    expect(lines.some((line) => line.result === 'late')).toBe(false);
    expect(h.stderr.join('')).toMatch(/ignored results for batch 999 from cpu:1 replica 0: no such batch was sent/);
    expect(h.stderr.join('')).not.toMatch(new RegExp(`ignored results for batch ${first?.batch} `)); // a late result is no forgery
  });

  it('Ctrl-C during a batch: no new work, the running batch is written, exit 130 with the resume command', async () => {
    const { h, done } = start({ devices: 1, replicas: 1, items: 20, batchSize: 2, prefetch: 2 });
    await settle();
    readyAll(h, 1, 1);
    await settle();
    const before = h.transport.batches();
    expect(before).toHaveLength(2);
    h.signal('SIGINT');
    await settle();
    for (const entry of before) answer(h, entry.batch);
    expect(await done).toBe(130);
    expect(h.transport.batches()).toHaveLength(2); // nothing sent after the signal
    expect(ids(h.output())).toEqual(before.flatMap((entry) => entry.inputs.map((input) => `item-${input}`)).sort());
    const said = h.stderr.join('');
    expect(said).toMatch(/interrupted: 4 of 20 items are in .*out\.jsonl\. To continue:\n {2}gpu-orchestrate --output .*out\.jsonl --resume\n/);
    expect(h.transport.sent.filter((entry) => entry.message.kind === 'stop')).toHaveLength(1);
  });

  it('Ctrl-C: a batch waiting behind the running one is asked back; given back unstarted, the run ends with the running one, its items left for --resume', async () => {
    const { h, done } = start({ devices: 1, replicas: 1, items: 20, batchSize: 2, prefetch: 2 });
    await settle();
    readyAll(h, 1, 1);
    await settle();
    const [running, waiting] = h.transport.batches();
    if (!running || !waiting) throw new Error('the replica should hold two batches (--prefetch 2)');
    h.signal('SIGINT');
    await settle();
    expect(h.transport.takenBack).toEqual([{ device: 0, replica: 0, batch: waiting.batch }]); // not the running one
    h.transport.emit({ kind: 'taken_back', device: 0, replica: 0, batch: waiting.batch });
    answer(h, running.batch);
    expect(await done).toBe(130); // without waiting for the batch that was given back
    expect(ids(h.output())).toEqual(running.inputs.map((input) => `item-${input}`).sort());
    expect(h.stderr.join('')).toMatch(/interrupted: 2 of 20 items are in .*out\.jsonl/);
  });

  it('a write that fails (/dev/full: ENOSPC) stops the run: hosts terminated (no clean stop), nothing handed out after it, exit 74 naming the file, the error, what is safe and how to resume', async () => {
    const h = harness({ devices: 1, replicas: 1, items: 20, batchSize: 2, prefetch: 2 });
    current = h;
    h.setup.journal.close();
    const done = runSession({ ...h.setup, journal: new Journal('/dev/full', 'append') }, h.ports);
    await settle();
    readyAll(h, 1, 1);
    await settle();
    answer(h, (h.transport.batches()[0] as { batch: number }).batch);
    await expect(done).rejects.toMatchObject({
      exitCode: 74,
      message: expect.stringMatching(/^cannot write \/dev\/full: no space left on device \(ENOSPC\)\. The run stopped: 0 of 20 items are safely in .*out\.jsonl; the other 20 run when you continue\. .*\n {2}gpu-orchestrate --output .*out\.jsonl --resume$/),
    });
    expect(h.transport.batches().length).toBeLessThanOrEqual(3); // at most the batch handed out with the failing write
    expect(h.transport.sent.filter((entry) => entry.message.kind === 'stop'), 'a clean stop, as if the run had finished').toHaveLength(0);
  });

  it('a host that refuses its launch config (exit 78) stops the run at once with a setup error', async () => {
    const { h, done } = start({ devices: 2, replicas: 1, items: 4, batchSize: 2 });
    await settle();
    h.launcher.host(0).spec.onOutput('error: the controller speaks protocol 1, this device host speaks 2');
    h.launcher.host(0).die(78);
    await settle();
    h.clock.advance(500); // a host's exit waits for its replicas' last messages
    await expect(done).rejects.toThrow(/cpu:0: the device host \(pid 1000\) exited with code 78: it cannot run with this controller\.\nlast output of that device:\n {2}error: the controller speaks protocol 1/);
    expect(h.launcher.hosts).toHaveLength(2); // not restarted
  });

  it('a replica with nothing gets a batch taken back from another: asked once, handed out again only once confirmed', async () => {
    const { h, done } = start({ devices: 2, replicas: 1, items: 16, batchSize: 2, prefetch: 4 });
    await settle();
    h.transport.emit({ kind: 'heartbeat', device: 0, pid: h.launcher.host(0).pid, incarnation: 0 });
    h.transport.emit({ kind: 'ready', device: 0, replica: 0, pid: 5000, generation: 0 });
    await settle();
    const onZero = h.transport.batches();
    expect(onZero.map((entry) => entry.device)).toEqual([0, 0, 0, 0]); // cpu:1 is still starting
    h.transport.emit({ kind: 'ready', device: 1, replica: 0, pid: 5010, generation: 0 });
    await answerEverything(h, (entry) => entry.device === 0); // cpu:1 does everything left
    expect(h.transport.takenBack).toEqual([{ device: 0, replica: 0, batch: onZero[3]?.batch }]);
    const sentBefore = h.transport.batches().length;
    h.transport.emit({ kind: 'taken_back', device: 0, replica: 0, batch: onZero[3]?.batch ?? -1 });
    await settle();
    const again = h.transport.batches().slice(sentBefore);
    expect(again.map((entry) => [entry.device, entry.inputs])).toEqual([[1, [onZero[3]?.inputs[0]]]]); // a share of it, to cpu:1
    await answerEverything(h, (entry) => onZero.some((held) => held.batch === entry.batch && held !== onZero[0] && held !== onZero[1] && held !== onZero[2]));
    expect(await done).toBe(0);
    const lines = h.output();
    expect(ids(lines)).toEqual(allIds(16));
    const taken = new Set(onZero[3]?.inputs.map((input) => `item-${input}`));
    const written = lines.filter((line) => taken.has(String(line.id)));
    expect(written).toHaveLength(2); // once each, though asked back
    expect(written.map((line) => line.device)).toContain('cpu:1');
  });
});
