/**
 * The controller's sends through its ROUTER, against a socket that refuses or accepts as a test
 * says: what is held for a peer that cannot be reached, in which order it goes, what is dropped.
 */
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { Router } from 'zeromq';
import { RouterOutbox } from '../../src/transport/outbox.js';

/** A ROUTER that delivers to the routes the test has connected, and fails as ZeroMQ does otherwise. */
class FakeRouter {
  closed = false;
  readonly connected = new Set<string>();
  /** Routes whose peer is connected but full (its high-water mark reached). */
  readonly full = new Set<string>();
  readonly delivered: string[] = [];
  attempts = 0;

  async send([route, payload]: [string, Buffer]): Promise<void> {
    this.attempts += 1;
    if (!this.connected.has(route)) throw Object.assign(new Error('Host unreachable'), { code: 'EHOSTUNREACH' });
    if (this.full.has(route)) throw Object.assign(new Error('Socket temporarily unavailable'), { code: 'EAGAIN' });
    this.delivered.push(`${route} ${payload.toString()}`);
  }
}

function outbox(): { router: FakeRouter; box: RouterOutbox } {
  const router = new FakeRouter();
  return { router, box: new RouterOutbox(router as unknown as Router) };
}

const settled = () => new Promise((resolve) => setImmediate(resolve));

afterEach(() => {
  vi.useRealTimers();
});

describe('RouterOutbox', () => {
  it('holds what a peer cannot take yet, with everything after it, and sends it in order once the peer announces itself', async () => {
    const { router, box } = outbox();
    router.connected.add('other');
    const first = box.send('t/0/0/0', Buffer.from('batch 1'), true);
    await settled();
    router.connected.add('t/0/0/0'); // connected, but not announced yet: the next must still wait behind the first
    const second = box.send('t/0/0/0', Buffer.from('batch 2'), true);
    const elsewhere = box.send('other', Buffer.from('not held up'), true);
    await elsewhere;
    expect(router.delivered).toEqual(['other not held up']);
    expect(box.waiting).toBe(2);
    box.reachable('t/0/0/0'); // its probe
    await Promise.all([first, second]);
    expect(router.delivered).toEqual(['other not held up', 't/0/0/0 batch 1', 't/0/0/0 batch 2']);
    expect(box.waiting).toBe(0);
  });

  it('drops what may be lost (a take-back, a heartbeat) instead of holding it', async () => {
    const { router, box } = outbox();
    await box.send('b/0/0/0', Buffer.from('take back 3'), false);
    expect(box.waiting).toBe(0);
    router.connected.add('b/0/0/0');
    box.reachable('b/0/0/0');
    await box.send('b/0/0/0', Buffer.from('take back 4'), false);
    expect(router.delivered).toEqual(['b/0/0/0 take back 4']);
  });

  it('a peer that is full is tried again until it takes the message; a probe is not needed', async () => {
    vi.useFakeTimers();
    const { router, box } = outbox();
    router.connected.add('h/0/0');
    router.full.add('h/0/0');
    const command = box.send('h/0/0', Buffer.from('start'), true);
    await vi.advanceTimersByTimeAsync(1_000);
    expect(router.delivered).toEqual([]);
    expect(router.attempts).toBeGreaterThan(2);
    router.full.delete('h/0/0');
    await vi.advanceTimersByTimeAsync(1_000);
    await command;
    expect(router.delivered).toEqual(['h/0/0 start']);
  });

  it('what waits for a peer that is forgotten is dropped, its senders told; a new peer gets only its own', async () => {
    const { router, box } = outbox();
    const old = box.send('t/0/0/0', Buffer.from('batch 1'), true);
    await settled();
    box.forget('t/0/0/0');
    await expect(old).rejects.toThrow('t/0/0/0 is gone; the message was not sent');
    router.connected.add('t/0/0/1');
    await box.send('t/0/0/1', Buffer.from('batch 2'), true);
    expect(router.delivered).toEqual(['t/0/0/1 batch 2']);
  });

  it('any other failure is the sender\'s to see', async () => {
    const { router, box } = outbox();
    router.send = async () => {
      throw Object.assign(new Error('Message too large'), { code: 'EMSGSIZE' });
    };
    await expect(box.send('t/0/0/0', Buffer.from('x'), true)).rejects.toThrow('Message too large');
    expect(box.waiting).toBe(0);
  });
});
