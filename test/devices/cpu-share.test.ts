/** CPU devices share the machine's cores: threads per replica, and the warning when they outnumber the cores. */
import { describe, expect, it } from 'vitest';
import { cpuShareWarning, threadsPerReplica } from '../../src/devices/cpu-share.js';
import { resolveDevices, type Device } from '../../src/devices/devices.js';

function cpu(count: number): Device[] {
  return resolveDevices({ kind: 'cpu', count }, { cudaVisibleDevices: undefined, listGpus: () => undefined }).devices;
}

describe('CPU devices sharing the cores', () => {
  it('each replica gets cores / replicas threads, at least one', () => {
    expect(threadsPerReplica(4, 16)).toBe(4);
    expect(threadsPerReplica(3, 16)).toBe(5);
    expect(threadsPerReplica(4, 2)).toBe(1);
    expect(threadsPerReplica(0, 2)).toBe(2);
  });

  it('--gpus cpu:4 on 2 cores warns that 4 devices share 2 cores, one thread each', () => {
    expect(cpuShareWarning(cpu(4), 2, threadsPerReplica(4, 2))).toBe(
      '--gpus cpu:4 on 2 core(s): the 4 CPU devices share them, each with 1 torch thread(s) (cores / devices, at least one), and take turns on the cores, so the run is no faster than with cpu:2; pass --gpus cpu:2 or fewer to give each device a core of its own.',
    );
  });

  it('as many CPU devices as cores, or fewer, or GPUs: no warning', () => {
    expect(cpuShareWarning(cpu(2), 2, 1)).toBeUndefined();
    expect(cpuShareWarning(cpu(4), 16, 4)).toBeUndefined();
    const gpus = resolveDevices({ kind: 'gpus', indices: [0, 1, 2, 3] }, { cudaVisibleDevices: undefined, listGpus: () => [0, 1, 2, 3] }).devices;
    expect(cpuShareWarning(gpus, 2, 1)).toBeUndefined();
  });
});
