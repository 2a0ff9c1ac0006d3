/**
 * Both codecs agree: what Python encodes Node decodes exactly, and the other way round. Both
 * sides' message shapes, routing ids and launch config agree too.
 */
import { statSync } from 'node:fs';
import path from 'node:path';
import { execa } from 'execa';
import { describe, expect, it } from 'vitest';
import { NdArray, decode, encode, type Dtype } from '../../src/transport/codec.js';
import { batchesMessage, heartbeatCommand, hostRoute, parseEvent, shutdownCommand, startCommand, stopMessage, takeBackMessage, takeBackRoute, taskRoute } from '../../src/transport/messages.js';
import { writeHostConfigFile } from '../../src/launch/config-file.js';
import { hostLaunchConfig } from '../../src/launch/host-config.js';
import { pythonEnv } from '../../src/workers/python.js';
import { PYTHON, fixture, scratchDir } from '../helpers/cli.js';

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
    expect(new Set(kinds)).toEqual(new Set(['ready', 'results', 'script_error', 'setup_error', 'replica_exit', 'heartbeat', 'telemetry', 'shared_error', 'taken_back', 'host_exit']));
    const parsed = events.map((event) => parseEvent(event)).flatMap((entry) => (entry.ok ? [entry.event] : []));
    // A results message carries each batch's entry as encoded when it finished, in order.
    const results = parsed.flatMap((event) => (event.kind === 'results' ? [event.results.map(({ batch, batch_size_hint, busy, outcomes }) => ({ batch, batch_size_hint, busy, outcomes: outcomes.length }))] : []));
    expect(results).toEqual([
      [{ batch: 7, batch_size_hint: null, busy: 0.003, outcomes: 3 }, { batch: 8, batch_size_hint: 4, busy: 0.5, outcomes: 1 }],
      [{ batch: 9, batch_size_hint: null, busy: 0, outcomes: 0 }],
    ]);
    // A replica's exit names the batch it was running, or none.
    expect(parsed.flatMap((event) => (event.kind === 'replica_exit' ? [event.running] : []))).toEqual([7, null]);
    // Bytes and percentages arrive as the numbers Python sent, utilization null when unknown.
    const telemetry = events.map((event) => parseEvent(event)).flatMap((parsed) => (parsed.ok && parsed.event.kind === 'telemetry' ? [parsed.event] : []));
    expect(telemetry.map(({ memory_used, memory_free, memory_total, utilization, source }) => ({ memory_used, memory_free, memory_total, utilization, source }))).toEqual([
      { memory_used: 3 * 2 ** 30, memory_free: 21 * 2 ** 30, memory_total: 24 * 2 ** 30, utilization: 87, source: 'nvml' },
      { memory_used: 700 * 2 ** 20, memory_free: 20 * 2 ** 30, memory_total: 23 * 2 ** 30, utilization: null, source: 'pss' },
    ]);
  });

  it('a results message with a large array: the array comes as a frame of its own, and Node reads it from that frame without a copy', async () => {
    const { stdout } = await execa(PYTHON, [fixture('protocol_peer.py'), 'frames'], { env: pythonEnv(), encoding: 'buffer', stripFinalNewline: false });
    const [message, ...arrays] = decode(stdout as Uint8Array) as Uint8Array[];
    expect(arrays).toHaveLength(1); // the large array alone: the small one is inside the message
    const parsed = parseEvent(decode(message as Uint8Array, arrays));
    expect(parsed).toMatchObject({ ok: true, event: { kind: 'results', device: 0, replica: 1, results: [{ batch: 5, busy: 0.25 }] } });
    const outcome = parsed.ok && parsed.event.kind === 'results' ? parsed.event.results[0]?.outcomes[0] : undefined;
    const { big, small } = (outcome?.ok ? outcome.result : {}) as { big: NdArray; small: NdArray };
    expect([big.dtype, big.shape]).toEqual(['float32', [16384]]);
    expect(Array.from(new Float32Array(new Uint8Array(big.data).buffer).slice(0, 4))).toEqual([0, 1, 2, 3]);
    expect(big.data.buffer).toBe((arrays[0] as Uint8Array).buffer); // a view of the frame
    expect(normalise(small)).toEqual(normalise(array('int16', [3], new Int16Array([1, -2, 300]))));
  });

  it('Python understands every command Node builds', async () => {
    const commands = [batchesMessage([{ batch: 7, inputs: ['a.png', { id: 'x' }] }, { batch: 8, inputs: [3] }]), takeBackMessage(7), stopMessage, startCommand(1, 4), shutdownCommand, heartbeatCommand];
    const result = await execa(PYTHON, [fixture('protocol_peer.py'), 'commands'], { env: pythonEnv(), input: encode(commands), reject: false });
    expect(result.stderr).toBe('');
    expect(result.stdout.trim().split('\n').map((line) => JSON.parse(line))).toEqual([
      { kind: 'batches', batches: [[7, ['a.png', { id: 'x' }]], [8, [3]]] },
      { kind: 'take_back', batch: 7 },
      { kind: 'stop', batches: [] },
      { kind: 'start', replica: 1, generation: 4 },
      { kind: 'shutdown', replica: -1, generation: -1 },
      { kind: 'heartbeat', replica: -1, generation: -1 },
    ]);
  });

  it.each([
    ['ipc', { endpoint: 'ipc:///tmp/run/controller', curve: undefined }],
    ['tcp', { endpoint: 'tcp://10.0.0.5:5555', curve: { server_public: 'a'.repeat(40), client_public: 'b'.repeat(40), client_secret: 'c'.repeat(40) } }],
  ] as const)('a device host accepts the launch config the controller builds (%s)', async (_, access) => {
    const template = { python: 'python3', script: '/s.py', options: { k: 'v' }, threadsPerReplica: 2, slotsPerDevice: 3, heartbeatTimeoutMs: 30_000 };
    const device = { index: 1, kind: 'cpu' as const, label: 'cpu:1', visibleDevices: '' };
    const config = hostLaunchConfig(template, { device, incarnation: 4, generations: [2, 0] }, access);
    const result = await execa(PYTHON, [fixture('protocol_peer.py'), 'config'], { env: pythonEnv(), input: JSON.stringify(config), reject: false });
    expect(result.stderr).toBe('');
    const { protocol_version: _version, ...rest } = config;
    expect(JSON.parse(result.stdout)).toEqual(rest);
  });

  it('a launch config written for a launcher is readable by its owner only, and a device host reads it', async () => {
    const template = { python: 'python3', script: '/s.py', options: {}, threadsPerReplica: 0, slotsPerDevice: 1, heartbeatTimeoutMs: 5_000 };
    const device = { index: 0, kind: 'cpu' as const, label: 'cpu:0', visibleDevices: '' };
    const keys = { server_public: 'a'.repeat(40), client_public: 'b'.repeat(40), client_secret: 'c'.repeat(40) };
    const config = { ...hostLaunchConfig(template, { device, incarnation: 0, generations: [0] }, { endpoint: 'tcp://10.0.0.5:5555', curve: keys }), controller_pid: 0 };
    const file = writeHostConfigFile(path.join(scratchDir(), 'host.json'), config);
    expect(statSync(file).mode & 0o777).toBe(0o600);
    expect(() => writeHostConfigFile(file, config)).toThrow(/EEXIST/); // never over another file
    const result = await execa(PYTHON, ['-c', `from gpu_orchestrate_worker.launch_config import HostConfig; print(HostConfig.load(${JSON.stringify(file)}).curve["client_secret"])`], { env: pythonEnv(), reject: false });
    expect(result.stderr).toBe('');
    expect(result.stdout).toBe(keys.client_secret);
  });

  it('both sides name each start of a replica\'s sockets and of a host alike (what is sent reaches that start only)', async () => {
    const { stdout } = await execa(PYTHON, [fixture('protocol_peer.py'), 'routes'], { env: pythonEnv() });
    const replica = { device: 0, replica: 1, generation: 3 };
    const other = { device: 12, replica: 10, generation: 0 };
    expect(stdout.split('\n')).toEqual([taskRoute(replica), takeBackRoute(replica), taskRoute(other), takeBackRoute(other), hostRoute({ device: 2, incarnation: 5 })]);
    expect(new Set(stdout.split('\n')).size).toBe(5);
  });
});
