/** Both codecs agree: what Python encodes Node decodes exactly, and the other way round. */
import { execa } from 'execa';
import { describe, expect, it } from 'vitest';
import { NdArray, decode, encode, type Dtype } from '../../src/transport/codec.js';
import { batchMessage, parseEvent, shutdownCommand, startCommand, stopMessage, takeBackMessage, takeBackTopic } from '../../src/transport/messages.js';
import { pythonEnv } from '../../src/workers/python.js';
import { PYTHON, fixture } from '../helpers/cli.js';

function array(dtype: Dtype, shape: number[], typed: ArrayBufferView): NdArray {
  return new NdArray(dtype, shape, new Uint8Array(typed.buffer, typed.byteOffset, typed.byteLength));
}

/** The same sample as test/fixtures/codec_peer.py builds. */
function sample(): Record<string, unknown> {
  const float16 = new Uint8Array([0x00, 0x3e, 0x00, 0xc0]); // 1.5, -2.0 in IEEE half precision
  return {
    unicode: 'héllo wörld ✓ 日本語 🚀',
    nested: { a: [1, 2, { b: null, c: true, d: false }], empty_map: {}, empty_list: [] },
    bytes: new Uint8Array([0x00, 0x01, 0xfe, 0xff]),
    ints: { int64_max: 2n ** 63n - 1n, int64_min: -(2n ** 63n), uint64_max: 2n ** 64n - 1n, safe: 2 ** 53 - 1, negative: -7, zero: 0 },
    float: 0.1,
    arrays: {
      float32: array('float32', [2, 3], new Float32Array([0, 0.5, 1, 1.5, 2, 2.5])),
      float64: array('float64', [2], new Float64Array([Math.PI, -0])),
      float16: new NdArray('float16', [2], float16),
      int8: array('int8', [2], new Int8Array([-128, 127])),
      int64: array('int64', [2], new BigInt64Array([-1n, 2n ** 62n])),
      uint8: array('uint8', [1, 2], new Uint8Array([0, 255])),
      uint64: array('uint64', [1], new BigUint64Array([2n ** 64n - 1n])),
      bool: array('bool', [3], new Uint8Array([1, 0, 1])),
      complex64: array('complex64', [1], new Float32Array([1, 2])),
      empty: new NdArray('float32', [0, 3], new Uint8Array(0)),
      scalar: array('int32', [], new Int32Array([42])),
    },
  };
}

function normalise(value: unknown): unknown {
  if (value instanceof NdArray) return { dtype: value.dtype, shape: [...value.shape], bytes: Buffer.from(value.data).toString('hex') };
  if (value instanceof Uint8Array) return { bytes: Buffer.from(value).toString('hex') };
  if (Array.isArray(value)) return value.map(normalise);
  if (value && typeof value === 'object') return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, normalise(v)]));
  return value;
}

describe('the TypeScript and Python codecs agree', () => {
  it('Node decodes what Python encodes', async () => {
    const { stdout } = await execa(PYTHON, [fixture('codec_peer.py'), 'encode'], { env: pythonEnv(), encoding: 'buffer' });
    expect(normalise(decode(stdout as Uint8Array))).toEqual(normalise(sample()));
  });

  it('Python decodes what Node encodes', async () => {
    const result = await execa(PYTHON, [fixture('codec_peer.py'), 'check'], { env: pythonEnv(), input: encode(sample()), reject: false });
    expect(result.stderr).toBe('');
    expect(result.exitCode).toBe(0);
  });
});

describe('the TypeScript and Python message shapes agree', () => {
  it('Node accepts every event the Python side builds', async () => {
    // stripFinalNewline off: binary output may end in 0x0a (the last event's traceback does).
    const { stdout } = await execa(PYTHON, [fixture('protocol_peer.py'), 'events'], { env: pythonEnv(), encoding: 'buffer', stripFinalNewline: false });
    const events = decode(stdout as Uint8Array) as unknown[];
    const kinds = events.map((event) => {
      const parsed = parseEvent(event);
      expect(parsed, JSON.stringify(event)).toMatchObject({ ok: true });
      return parsed.ok ? parsed.event.kind : 'rejected';
    });
    expect(new Set(kinds)).toEqual(new Set(['ready', 'result', 'script_error', 'setup_error', 'replica_exit', 'heartbeat', 'telemetry', 'shared_error', 'taken_back']));
    // Bytes and percentages arrive as the numbers Python sent, utilization null when unknown.
    const telemetry = events.map((event) => parseEvent(event)).flatMap((parsed) => (parsed.ok && parsed.event.kind === 'telemetry' ? [parsed.event] : []));
    expect(telemetry.map(({ memory_used, memory_free, memory_total, utilization, source }) => ({ memory_used, memory_free, memory_total, utilization, source }))).toEqual([
      { memory_used: 3 * 2 ** 30, memory_free: 21 * 2 ** 30, memory_total: 24 * 2 ** 30, utilization: 87, source: 'nvml' },
      { memory_used: 700 * 2 ** 20, memory_free: 20 * 2 ** 30, memory_total: 23 * 2 ** 30, utilization: null, source: 'pss' },
    ]);
  });

  it('Python understands every command Node builds', async () => {
    const commands = [batchMessage(7, ['a.png', { id: 'x' }]), takeBackMessage(7), stopMessage, startCommand(1, 4), shutdownCommand];
    const result = await execa(PYTHON, [fixture('protocol_peer.py'), 'commands'], { env: pythonEnv(), input: encode(commands), reject: false });
    expect(result.stderr).toBe('');
    expect(result.stdout.trim().split('\n').map((line) => JSON.parse(line))).toEqual([
      { kind: 'batch', batch: 7, inputs: ['a.png', { id: 'x' }] },
      { kind: 'take_back', batch: 7 },
      { kind: 'stop', batch: -1, inputs: [] },
      { kind: 'start', replica: 1, generation: 4 },
      { kind: 'shutdown', replica: -1, generation: -1 },
    ]);
  });

  it('both sides name a replica\'s take-back topic alike (a replica hears its own take-backs only)', async () => {
    for (const [device, replica] of [[0, 0], [1, 10], [12, 3]] as const) {
      const { stdout } = await execa(PYTHON, [fixture('protocol_peer.py'), 'topic', String(device), String(replica)], { env: pythonEnv() });
      expect(stdout).toBe(takeBackTopic(device, replica));
    }
  });
});
