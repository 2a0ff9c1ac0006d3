/**
 * --max-failures against the fake session: the run drains as after Ctrl-C once the limit is
 * written (no new work, what is in flight is written), says why and ends with exit 1.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { RunRecord } from '../../src/report/run-record.js';
import { runSession } from '../../src/session/session.js';
import { harness, settle, type Harness } from './fakes.js';

let current: Harness | undefined;
afterEach(() => current?.cleanup());

/** The replica holding `batch` answers it: every item failed, or every item ok. */
function answer(h: Harness, batch: number, ok: boolean): void {
  const sent = h.transport.batches().find((entry) => entry.batch === batch);
  if (!sent) throw new Error(`batch ${batch} was never sent`);
  const outcomes = sent.inputs.map((input) => (ok ? { ok: true, result: input, seconds: 0.01 } : { ok: false, error: { type: 'RuntimeError', message: 'the weights are missing', traceback: '' }, seconds: 0.01 }));
  h.transport.results(sent.device, sent.replica, [{ batch, outcomes }]);
}

describe('--max-failures', () => {
  it('once the limit is written: no new work, the batch in flight is written, exit 1 with why and how to resume', async () => {
    const h = harness({ devices: 1, replicas: 1, items: 40, batchSize: 2, prefetch: 2 });
    current = h;
    h.setup.config.maxFailures = 3;
    const record = new RunRecord(false);
    const done = runSession({ ...h.setup, record }, h.ports);
    await settle();
    h.transport.emit({ kind: 'heartbeat', device: 0, pid: h.launcher.host(0).pid });
    h.transport.emit({ kind: 'ready', device: 0, replica: 0, pid: 5000, generation: 0 });
    await settle();
    answer(h, 0, false); // 2 failed: under the limit, so the replica gets the next batch
    await settle();
    expect(h.transport.batches()).toHaveLength(3);
    answer(h, 1, false); // 4 failed: past the limit, with batch 2 in flight
    await settle();
    expect(h.stderr.join('')).toMatch(/stopping: 4 item\(s\) failed, reaching --max-failures 3\. No new work; waiting up to 30 s for the 2 item\(s\) in flight\./);
    answer(h, 2, true);
    expect(await done).toBe(1);
    expect(h.transport.batches()).toHaveLength(3); // nothing sent after the limit
    const lines = h.output();
    expect(lines).toHaveLength(6);
    expect(lines.filter((line) => line.ok === false)).toHaveLength(4);
    expect(h.transport.sent.filter((entry) => entry.message.kind === 'stop')).toHaveLength(1); // stopped cleanly, not cut
    const said = h.stderr.join('');
    expect(said).toMatch(/stopped early: 4 item\(s\) failed, reaching --max-failures 3; 6 of 40 items are in .*out\.jsonl .*\n {2}gpu-orchestrate --output .*out\.jsonl --resume\n/);
    expect(said).not.toMatch(/interrupted/);
    expect(said).toMatch(/cpu:0 stopped · 6 done/); // the device's row says the run stopped it, and what it finished
    expect(record.stops.map((stop) => stop.type)).toEqual(['MaxFailures']);
    expect(record.failedCount).toBe(4);
    expect(record.okCount).toBe(2);
  });

  it('Ctrl-C while the limit stops the run: stopping at once, said as such (not "SIGINT again"), and still exit 1', async () => {
    const h = harness({ devices: 1, replicas: 1, items: 40, batchSize: 2, prefetch: 2 });
    current = h;
    h.setup.config.maxFailures = 1;
    const done = runSession(h.setup, h.ports);
    await settle();
    h.transport.emit({ kind: 'heartbeat', device: 0, pid: h.launcher.host(0).pid });
    h.transport.emit({ kind: 'ready', device: 0, replica: 0, pid: 5000, generation: 0 });
    await settle();
    answer(h, 0, false); // past the limit, with batch 1 in flight
    await settle();
    h.signal('SIGINT');
    expect(await done).toBe(1);
    const said = h.stderr.join('');
    expect(said).toMatch(/SIGINT: stopping at once \(the run was already stopping: --max-failures was reached\)/);
    expect(said).not.toMatch(/SIGINT again/);
    expect(h.output()).toHaveLength(2); // the batch in flight was cut
  });

  it('under the limit the run goes to its end: every item written, exit 1 for the failures', async () => {
    const h = harness({ devices: 1, replicas: 1, items: 8, batchSize: 2, prefetch: 1 });
    current = h;
    h.setup.config.maxFailures = 3;
    const done = runSession(h.setup, h.ports);
    await settle();
    h.transport.emit({ kind: 'heartbeat', device: 0, pid: h.launcher.host(0).pid });
    h.transport.emit({ kind: 'ready', device: 0, replica: 0, pid: 5000, generation: 0 });
    for (let batch = 0; batch < 4; batch += 1) {
      await settle();
      answer(h, batch, batch !== 1);
    }
    expect(await done).toBe(1);
    expect(h.output()).toHaveLength(8);
    expect(h.stderr.join('')).not.toMatch(/stopping|stopped early/);
  });
});
