/**
 * Bundles (protocol 4): a replica's batches go in one message, its results come back several to a
 * message, and the guarantees hold where bundling makes new cases: a replica that dies with
 * finished batches whose results it had not sent yet, and a results message holding a batch that
 * was handed back meanwhile.
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

function ready(h: Harness, device: number, generation = 0): void {
  h.transport.emit({ kind: 'heartbeat', device, pid: h.launcher.host(device).pid, incarnation: 0 });
  h.transport.emit({ kind: 'ready', device, replica: 0, pid: 5000 + device * 10 + generation, generation });
}

type Sent = ReturnType<Harness['transport']['batches']>[number];

/** Each batch's entry as its replica reports it: every item ok, its input doubled (or `result`). */
function entry(batch: Sent, busy = 0.01, result?: unknown): { batch: number; outcomes: unknown[]; busy: number } {
  return { batch: batch.batch, outcomes: batch.inputs.map((input) => ({ ok: true, result: result ?? Number(input) * 2, seconds: 0.001 })), busy };
}

/** Answers, one results message per replica, every batch sent and not answered yet (except `skip`), until nothing new is sent. */
async function answerEverything(h: Harness, skip: (batch: Sent) => boolean = () => false): Promise<void> {
  const answered = new Set<number>();
  for (;;) {
    await settle();
    const open = h.transport.batches().filter((batch) => !answered.has(batch.batch) && !skip(batch));
    if (open.length === 0) return;
    for (const key of new Set(open.map((batch) => `${batch.device}/${batch.replica}`))) {
      const mine = open.filter((batch) => `${batch.device}/${batch.replica}` === key);
      h.transport.results(mine[0]?.device ?? -1, mine[0]?.replica ?? -1, mine.map((batch) => entry(batch)));
      for (const batch of mine) answered.add(batch.batch);
    }
  }
}

const itemsOf = (batches: Sent[]) => new Set(batches.flatMap((batch) => batch.inputs.map((input) => `item-${input}`)));

describe('bundles', () => {
  it("a replica's batches go in one message, ids growing; batches that take microseconds earn more than --prefetch, batches of milliseconds do not", async () => {
    const { h, done } = start({ devices: 1, replicas: 1, items: 400, batchSize: 2, prefetch: 2 });
    await settle();
    ready(h, 0);
    await settle();
    const messages = () => h.transport.sent.flatMap((sent) => (sent.message.kind === 'batches' ? [sent.message.batches.map((batch) => batch.batch)] : []));
    expect(messages()).toEqual([[0, 1]]); // --prefetch 2, in one message
    h.transport.results(0, 0, h.transport.batches().map((batch) => entry(batch, 0.00002))); // 20 µs a batch
    await settle();
    const fast = messages()[1] ?? [];
    expect(fast.length).toBeGreaterThan(2); // credit for fast batches: more than --prefetch at once
    expect(fast).toEqual(Array.from({ length: fast.length }, (_, at) => 2 + at)); // in one message, ids growing
    const held = h.transport.batches().filter((batch) => fast.includes(batch.batch));
    h.transport.results(0, 0, held.map((batch) => entry(batch, 0.005))); // these took 5 ms each
    await settle();
    expect(messages()[2]).toHaveLength(2); // back to --prefetch
    await answerEverything(h);
    expect(await done).toBe(0);
    expect(new Set(h.output().map((line) => line.id)).size).toBe(400);
  });

  it('a replica that dies with finished batches whose results it had not sent: those run again unpunished, the running one alone, every item written once', async () => {
    const { h, done } = start({ devices: 1, replicas: 1, items: 20, batchSize: 2, prefetch: 4 });
    await settle();
    ready(h, 0);
    await settle();
    const held = h.transport.batches();
    expect(held).toHaveLength(4);
    expect(h.transport.sent.filter((sent) => sent.message.kind === 'batches')).toHaveLength(1); // one message
    const [finished0, finished1, running, waiting] = held as [Sent, Sent, Sent, Sent];
    // It ran the first two (their results held, to go with the next), then died in the third:
    // its host read the third's id from the replica's marker.
    h.transport.emit({ kind: 'replica_exit', device: 0, replica: 0, pid: 5000, exitcode: -11, generation: 0, running: running.batch });
    await settle();
    expect(h.stderr.join('')).toMatch(/cpu:0: replica 0 \(pid 5000\) was killed by SIGSEGV; 8 unfinished item\(s\) go back to the queue/);
    h.clock.advance(500); // the restart back-off
    await settle();
    ready(h, 0, 1);
    await answerEverything(h, (batch) => held.some((old) => old.batch === batch.batch)); // the dead replica answers nothing
    expect(await done).toBe(0);
    const lines = h.output();
    expect(lines.map((line) => line.id).sort()).toEqual(Array.from({ length: 20 }, (_, index) => `item-${index}`).sort());
    const attempts = (batches: Sent[]) => lines.filter((line) => itemsOf(batches).has(String(line.id))).map((line) => line.attempts);
    expect(attempts([finished0, finished1, waiting])).toEqual([1, 1, 1, 1, 1, 1]); // unpunished
    expect(attempts([running])).toEqual([2, 2]); // the suspects
    const retries = h.transport.batches().filter((batch) => batch.batch > waiting.batch && batch.inputs.some((input) => itemsOf([running]).has(`item-${input}`)));
    expect(retries.map((batch) => batch.inputs.length)).toEqual([1, 1]); // each alone
  });

  it('a replica that dies between batches (its marker names none): nothing it held is blamed', async () => {
    const { h, done } = start({ devices: 1, replicas: 1, items: 8, batchSize: 2, prefetch: 2 });
    await settle();
    ready(h, 0);
    await settle();
    const held = h.transport.batches();
    h.transport.emit({ kind: 'replica_exit', device: 0, replica: 0, pid: 5000, exitcode: -9, generation: 0, running: null });
    await settle();
    h.clock.advance(500);
    await settle();
    ready(h, 0, 1);
    await answerEverything(h, (batch) => held.some((old) => old.batch === batch.batch));
    expect(await done).toBe(0);
    expect(h.output().map((line) => line.attempts)).toEqual(Array.from({ length: 8 }, () => 1));
  });

  it('a results message holding a batch that was taken back and run elsewhere: that one is dropped, the rest written, every item once', async () => {
    const { h, done } = start({ devices: 2, replicas: 1, items: 16, batchSize: 2, prefetch: 4 });
    await settle();
    ready(h, 0);
    await settle();
    const onZero = h.transport.batches();
    expect(onZero.map((batch) => batch.device)).toEqual([0, 0, 0, 0]); // cpu:1 is still starting
    h.transport.emit({ kind: 'ready', device: 1, replica: 0, pid: 5010, generation: 0 });
    await answerEverything(h, (batch) => batch.device === 0); // cpu:1 does everything left, then idles
    const last = onZero[3] as Sent;
    expect(h.transport.takenBack).toEqual([{ device: 0, replica: 0, batch: last.batch }]);
    h.transport.emit({ kind: 'taken_back', device: 0, replica: 0, batch: last.batch });
    await answerEverything(h, (batch) => batch.device === 0); // its items, run on cpu:1
    // cpu:0's replica reports its whole bundle at once, the batch it gave back among them (a
    // replica that gave it back never does; the controller drops it whoever sends it).
    h.transport.results(0, 0, onZero.map((batch) => entry(batch, 0.01, batch.batch === last.batch ? 'stale' : undefined)));
    expect(await done).toBe(0);
    const lines = h.output();
    expect(lines.map((line) => line.id).sort()).toEqual(Array.from({ length: 16 }, (_, index) => `item-${index}`).sort());
    expect(lines.some((line) => line.result === 'stale')).toBe(false);
    expect(lines.filter((line) => itemsOf(onZero.slice(0, 3)).has(String(line.id))).every((line) => line.device === 'cpu:0')).toBe(true);
    expect(lines.filter((line) => itemsOf([last]).has(String(line.id))).map((line) => line.device)).toEqual(['cpu:1', 'cpu:1']);
    expect(h.stderr.join('')).not.toMatch(/no such batch was sent/); // handed back, not forged
  });
});
