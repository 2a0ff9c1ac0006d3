import { describe, expect, it } from 'vitest';
import { parseDeviceRequest, resolveDevices, type DeviceDiscovery } from '../../src/devices/devices.js';
import { UsageError } from '../../src/errors.js';

function discovery(cudaVisibleDevices: string | undefined, gpus: number[] | undefined): DeviceDiscovery {
  return { cudaVisibleDevices, listGpus: () => gpus };
}

describe('parseDeviceRequest', () => {
  it('reads all, GPU lists and cpu:N', () => {
    expect(parseDeviceRequest('all')).toEqual({ kind: 'all' });
    expect(parseDeviceRequest('0,2')).toEqual({ kind: 'gpus', indices: [0, 2] });
    expect(parseDeviceRequest('3')).toEqual({ kind: 'gpus', indices: [3] });
    expect(parseDeviceRequest('cpu:4')).toEqual({ kind: 'cpu', count: 4 });
    expect(parseDeviceRequest('cpu')).toEqual({ kind: 'cpu', count: 1 });
  });

  it.each(['gpu0', '0,,1', 'cpu:x', '-1', 'cuda:0', ''])('rejects %j with the accepted forms', (text) => {
    expect(() => parseDeviceRequest(text)).toThrow(/all, a list of GPU indices such as 0,2, or cpu:N/);
  });

  it('rejects cpu:0 and a GPU listed twice', () => {
    expect(() => parseDeviceRequest('cpu:0')).toThrow(UsageError);
    expect(() => parseDeviceRequest('1,1')).toThrow(/GPU 1 is listed twice/);
  });
});

describe('resolveDevices', () => {
  it('cpu:N gives N CPU devices that see no GPU', () => {
    const { devices, warning } = resolveDevices({ kind: 'cpu', count: 2 }, discovery('0,1', [0, 1]));
    expect(devices.map((d) => [d.label, d.kind, d.visibleDevices])).toEqual([['cpu:0', 'cpu', ''], ['cpu:1', 'cpu', '']]);
    expect(warning).toBeUndefined();
  });

  it('all takes CUDA_VISIBLE_DEVICES over nvidia-smi, one host per visible GPU', () => {
    const { devices } = resolveDevices({ kind: 'all' }, discovery('3,5', [0, 1, 2, 3, 4, 5, 6, 7]));
    expect(devices.map((d) => [d.index, d.label, d.visibleDevices])).toEqual([[0, 'cuda:3', '3'], [1, 'cuda:5', '5']]);
  });

  it('all keeps GPU UUIDs from CUDA_VISIBLE_DEVICES as they are', () => {
    const { devices } = resolveDevices({ kind: 'all' }, discovery('GPU-aaaa, GPU-bbbb', undefined));
    expect(devices.map((d) => d.visibleDevices)).toEqual(['GPU-aaaa', 'GPU-bbbb']);
  });

  it('all uses nvidia-smi when CUDA_VISIBLE_DEVICES is unset', () => {
    const { devices } = resolveDevices({ kind: 'all' }, discovery(undefined, [0, 1, 2]));
    expect(devices.map((d) => d.label)).toEqual(['cuda:0', 'cuda:1', 'cuda:2']);
  });

  it('all falls back to one CPU device with a warning when no GPU is found', () => {
    const none = resolveDevices({ kind: 'all' }, discovery(undefined, undefined));
    expect(none.devices.map((d) => d.label)).toEqual(['cpu:0']);
    expect(none.warning).toMatch(/no GPU found \(nvidia-smi is not available\)/);
    const hidden = resolveDevices({ kind: 'all' }, discovery('', [0, 1]));
    expect(hidden.devices.map((d) => d.label)).toEqual(['cpu:0']);
    expect(hidden.warning).toMatch(/CUDA_VISIBLE_DEVICES=""/);
  });

  it('a GPU list counts within CUDA_VISIBLE_DEVICES, as torch does', () => {
    const { devices } = resolveDevices({ kind: 'gpus', indices: [0, 2] }, discovery('4,5,6', undefined));
    expect(devices.map((d) => [d.label, d.visibleDevices])).toEqual([['cuda:4', '4'], ['cuda:6', '6']]);
  });

  it('a GPU that does not exist is a usage error naming it and what exists', () => {
    expect(() => resolveDevices({ kind: 'gpus', indices: [0, 3] }, discovery(undefined, [0, 1]))).toThrow(/GPU 3 does not exist; nvidia-smi shows 2 GPU\(s\), numbered 0 to 1/);
    expect(() => resolveDevices({ kind: 'gpus', indices: [0] }, discovery(undefined, undefined))).toThrow(/no GPU is visible.*--gpus cpu:N/);
  });
});
