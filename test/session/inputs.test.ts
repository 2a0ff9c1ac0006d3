/**
 * The session reads its inputs as it runs (src/session/feed.ts): a bounded read-ahead, items
 * skipped when a resume says the output holds them, lines that carry the item's ordinal, a total
 * that is known once the inputs end, and a bad line that stops the run where it is found.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { UsageError } from '../../src/errors.js';
import type { InputSource, Item } from '../../src/inputs/read-inputs.js';
import { runSession } from '../../src/session/session.js';
import { harness, itemsSource, settle, type Harness } from './fakes.js';

let current: Harness | undefined;
afterEach(() => current?.cleanup());

function items(count: number): Item[] {
  return Array.from({ length: count }, (_, index) => ({ id: `item-${index}`, input: index }));
}

/** A source that counts the items it has handed over, and can fail after `failAfter` chunks. */
function watched(all: Item[], chunk: number, failAfter?: number): InputSource & { read: () => number } {
  let read = 0;
  const inner = itemsSource(all, chunk);
  return {
    ...inner,
    count: async () => undefined, // as a folder being walked: the total is not known up front
    async *chunks() {
      let chunks = 0;
      for await (const items of inner.chunks()) {
        if (failAfter !== undefined && chunks === failAfter) throw new UsageError(`test items, line ${read + 2}: not valid JSON (Unexpected token)`);
        chunks += 1;
        read += items.length;
        yield items;
      }
    },
    read: () => read,
  };
}

function ready(h: Harness, devices: number): void {
  for (let device = 0; device < devices; device += 1) {
    h.transport.emit({ kind: 'heartbeat', device, pid: h.launcher.host(device).pid });
    h.transport.emit({ kind: 'ready', device, replica: 0, pid: 5000 + device, generation: 0 });
  }
}

/** Answers every batch sent and not answered yet, until nothing new is sent (or `until` says stop). */
async function answerAll(h: Harness, until: () => boolean = () => false): Promise<void> {
  const answered = new Set<number>();
  for (;;) {
    await settle();
    const open = h.transport.batches().filter((entry) => !answered.has(entry.batch));
    if (open.length === 0 || until()) return;
    for (const sent of open) {
      answered.add(sent.batch);
      h.transport.results(sent.device, sent.replica, [{ batch: sent.batch, outcomes: sent.inputs.map((input) => ({ ok: true, result: input, seconds: 0 })) }]);
    }
  }
}

describe('the session reads its inputs as it runs', () => {
  it('reads ahead a bounded number of items, then more as batches are handed out; every item once, each line with its ordinal', async () => {
    const h = (current = harness({ devices: 2, replicas: 1, items: 0, batchSize: 4 }));
    const source = watched(items(20_000), 1000);
    h.setup.inputs = { source, limit: undefined, expected: undefined };
    const done = runSession(h.setup, h.ports);
    await settle();
    // Nothing handed out yet: what was read is the read-ahead (4096 items here), give or take one chunk.
    expect(source.read()).toBeGreaterThan(0);
    expect(source.read()).toBeLessThanOrEqual(4096 + 1000);
    ready(h, 2);
    await answerAll(h);
    expect(await done).toBe(0);
    const lines = h.output();
    expect(lines).toHaveLength(20_000);
    expect(new Set(lines.map((line) => line.id)).size).toBe(20_000);
    expect(lines.every((line) => line.id === `item-${String(line.index)}` && line.input === line.index)).toBe(true);
    expect(Object.keys(lines[0] ?? {}).slice(0, 3)).toEqual(['id', 'index', 'ok']);
  });

  it('skips what a resume says the output holds, and runs the rest under their own ordinals', async () => {
    const h = (current = harness({ devices: 1, replicas: 1, items: 0, batchSize: 3 }));
    h.setup.inputs = { source: itemsSource(items(10)), limit: 8, expected: 4, status: (ordinal) => (ordinal % 2 === 0 ? 'done' : 'todo') };
    const done = runSession(h.setup, h.ports);
    await settle();
    ready(h, 1);
    await answerAll(h);
    expect(await done).toBe(0);
    expect(h.output().map((line) => line.index).sort()).toEqual([1, 3, 5, 7]); // odd ordinals, and none past --limit
  });

  it('a bad line found part-way stops the run there, saying what is in the output and how to continue', async () => {
    const h = (current = harness({ devices: 1, replicas: 1, items: 0, batchSize: 10 }));
    h.setup.inputs = { source: watched(items(100), 10, 3), limit: undefined, expected: undefined };
    const done = runSession(h.setup, h.ports);
    done.catch(() => undefined);
    await settle();
    ready(h, 1);
    await answerAll(h, () => h.transport.batches().length >= 3);
    await expect(done).rejects.toThrow(UsageError);
    await expect(done).rejects.toThrow(/test items, line 32: not valid JSON \(Unexpected token\)\nThe run stopped there: \d+ item\(s\) are in .*out\.jsonl; once the inputs are fixed, run again with --resume to continue\./);
  });

  it('Ctrl-C before the inputs end: the total is not known, so the message gives what is written alone', async () => {
    const h = (current = harness({ devices: 1, replicas: 1, items: 0, batchSize: 2 }));
    h.setup.inputs = { source: watched(items(20_000), 100), limit: undefined, expected: undefined };
    const done = runSession(h.setup, h.ports);
    await settle();
    ready(h, 1);
    await settle();
    h.signal('SIGINT');
    await answerAll(h);
    expect(await done).toBe(130);
    expect(h.stderr.join('')).toMatch(/interrupted: 4 items are in .*out\.jsonl\. To continue:/);
  });
});
