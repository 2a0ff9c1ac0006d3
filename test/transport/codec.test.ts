import { describe, expect, it } from 'vitest';
import { NdArray, decode, encode } from '../../src/transport/codec.js';
import { PROTOCOL_VERSION, batchesMessage, parseEvent } from '../../src/transport/messages.js';

describe('codec', () => {
  it('round-trips maps, unicode, bytes and 64-bit integers', () => {
    const value = { text: 'héllo 日本 🚀', nested: { list: [1, null, true] }, bytes: new Uint8Array([0, 1, 255]), big: 2n ** 63n - 1n, small: -(2n ** 63n), safe: 2 ** 53 - 1 };
    const back = decode(encode(value)) as typeof value;
    expect(back.text).toBe(value.text);
    expect(back.nested).toEqual(value.nested);
    expect(Array.from(back.bytes)).toEqual([0, 1, 255]);
    expect(back.big).toBe(2n ** 63n - 1n);
    expect(back.small).toBe(-(2n ** 63n));
    expect(back.safe).toBe(2 ** 53 - 1); // a number when exact
  });

  it('keeps whole numbers beyond 32 bits integers on the wire (msgpackr alone writes them as floats)', () => {
    const bytes = encode({ n: 5_000_000_000 });
    expect(bytes.includes(0xcb)).toBe(false); // no float64 marker
    expect(decode(bytes)).toEqual({ n: 5_000_000_000 });
    expect(decode(encode([1.5, 2 ** 40 + 0.5]))).toEqual([1.5, 2 ** 40 + 0.5]);
  });

  it('round-trips arrays with dtype, shape and bytes', () => {
    const array = new NdArray('int16', [2, 2], new Uint8Array(new Int16Array([1, -2, 300, -32768]).buffer));
    const back = decode(encode({ a: array })) as { a: NdArray };
    expect(back.a).toBeInstanceOf(NdArray);
    expect(back.a.dtype).toBe('int16');
    expect(back.a.shape).toEqual([2, 2]);
    expect(Array.from(new Int16Array(new Uint8Array(back.a.data).buffer))).toEqual([1, -2, 300, -32768]);
  });

  it('reads an array that came as a frame of its own from that frame, without a copy; a frame the message lacks is named', () => {
    // {"a": ext 2 [dtype, shape, frame 1]}, as Python's codec writes it for a large array.
    const payload = Buffer.from(encode(['float32', [2], 1]));
    const message = Buffer.concat([Buffer.from([0x81, 0xa1, 0x61, 0xc7, payload.length, 0x02]), payload]);
    const frames = [Buffer.alloc(8), Buffer.from(new Float32Array([1.5, -2]).buffer)];
    const back = decode(message, frames) as { a: NdArray };
    expect([back.a.dtype, back.a.shape]).toEqual(['float32', [2]]);
    expect(back.a.data).toBe(frames[1]); // the frame itself: the journal writes it with one write()
    expect(() => decode(message, frames.slice(0, 1))).toThrow(/frame 1 named, the message has 1 array frame\(s\)/);
    expect(() => decode(message)).toThrow(/frame 1 named, the message has 0 array frame\(s\)/);
  });

  it('refuses an array whose bytes do not fit its shape', () => {
    expect(() => new NdArray('float32', [3], new Uint8Array(8))).toThrow(/needs 12 bytes, got 8/);
  });
});

describe('parseEvent', () => {
  it('accepts the shapes the Python side sends', () => {
    const outcomes = [{ ok: true, result: [1], seconds: 0.1 }, { ok: false, error: { type: 'E', message: 'm', traceback: 't' }, seconds: 0.2 }];
    const results = { v: PROTOCOL_VERSION, kind: 'results', device: 0, replica: 1, results: [{ batch: 3, outcomes, busy: 0.3 }, { batch: 4, outcomes: outcomes.slice(0, 1), batch_size_hint: 2, busy: 0.1 }] };
    expect(parseEvent(results)).toMatchObject({ ok: true, event: { kind: 'results', results: [{ batch: 3 }, { batch: 4, batch_size_hint: 2 }] } });
    expect(parseEvent({ v: PROTOCOL_VERSION, kind: 'ready', device: 0, replica: 0, pid: 42, generation: 0 }).ok).toBe(true);
    expect(parseEvent({ v: PROTOCOL_VERSION, kind: 'replica_exit', device: 0, replica: 0, pid: 42, exitcode: null, generation: 2, running: null }).ok).toBe(true);
    expect(parseEvent({ v: PROTOCOL_VERSION, kind: 'replica_exit', device: 0, replica: 0, pid: 42, exitcode: -11, generation: 2, running: 17 })).toMatchObject({ ok: true, event: { running: 17 } });
  });

  it.each([
    ['a string', 'hello'],
    ['a foreign version', { v: 99, kind: 'ready', device: 0, replica: 0, pid: 1 }],
    ['an unknown kind', { v: PROTOCOL_VERSION, kind: 'launch_missiles', device: 0, replica: 0 }],
    ['a result without outcomes', { v: PROTOCOL_VERSION, kind: 'results', device: 0, replica: 0, results: [{ batch: 1, busy: 0 }] }],
    ['a results message with no result', { v: PROTOCOL_VERSION, kind: 'results', device: 0, replica: 0, results: [] }],
    ['a result without its busy seconds', { v: PROTOCOL_VERSION, kind: 'results', device: 0, replica: 0, results: [{ batch: 1, outcomes: [] }] }],
    ['a replica exit that does not say what was running', { v: PROTOCOL_VERSION, kind: 'replica_exit', device: 0, replica: 0, pid: 42, exitcode: -9, generation: 0 }],
    ['a negative device', { v: PROTOCOL_VERSION, kind: 'ready', device: -1, replica: 0, pid: 1, generation: 0 }],
    ['a ready report without its generation', { v: PROTOCOL_VERSION, kind: 'ready', device: 0, replica: 0, pid: 1 }],
    ['a result whose seconds is not a finite number', { v: PROTOCOL_VERSION, kind: 'results', device: 0, replica: 0, results: [{ batch: 1, outcomes: [{ ok: true, result: 1, seconds: Number.NaN }], busy: 0 }] }],
    ['a result whose batch id is not an integer', { v: PROTOCOL_VERSION, kind: 'results', device: 0, replica: 0, results: [{ batch: 1.5, outcomes: [{ ok: true, result: 1, seconds: 0 }], busy: 0 }] }],
    ['a result with a negative replica', { v: PROTOCOL_VERSION, kind: 'results', device: 0, replica: -1, results: [{ batch: 1, outcomes: [{ ok: true, result: 1, seconds: 0 }], busy: 0 }] }],
  ])('rejects %s with a reason, without throwing', (_, value) => {
    expect(parseEvent(value)).toEqual({ ok: false, reason: expect.stringMatching(/\S/) });
  });

  it('drops keys the protocol does not define, in results as in other events', () => {
    const outcome = { ok: true, result: 'r', seconds: 0.1, extra: 'x' };
    const parsed = parseEvent({ v: PROTOCOL_VERSION, kind: 'results', device: 0, replica: 0, results: [{ batch: 1, outcomes: [outcome], busy: 0, aside: 'a' }], note: 'n' });
    expect(parsed).toMatchObject({ ok: true, event: { kind: 'results', results: [{ outcomes: [{ ok: true, result: 'r', seconds: 0.1 }] }] } });
    const event = (parsed as { event: Record<string, unknown> }).event;
    expect(event).not.toHaveProperty('note');
    const [entry] = event.results as Record<string, unknown>[];
    expect(entry).not.toHaveProperty('aside');
    expect((entry?.outcomes as object[])[0]).not.toHaveProperty('extra');
  });

  it('builds task messages with the protocol version', () => {
    expect(batchesMessage([{ batch: 7, inputs: ['a'] }, { batch: 8, inputs: ['b'] }])).toEqual({ v: PROTOCOL_VERSION, kind: 'batches', batches: [{ batch: 7, inputs: ['a'] }, { batch: 8, inputs: ['b'] }] });
  });
});
