import { describe, expect, it } from 'vitest';
import { onNode, type Device } from '../../src/devices/devices.js';
import { hostArguments, hostConfigEnvironment, remoteConfig } from '../../src/launch/host-command.js';
import { hostEnvironment, hostLaunchConfig } from '../../src/launch/host-config.js';
import { nodeDevices } from '../../src/launch/node-devices.js';
import { cpusPerHost, srunArguments, srunEnvironment } from '../../src/launch/srun.js';

const gpu = (node: string, local: number, index: number): Device => onNode(node, { index, label: `cuda:${local}`, kind: 'cuda', visibleDevices: String(local) });
const template = { python: 'python3', script: '/shared/detect.py', options: {}, threadsPerReplica: 4, slotsPerDevice: 1, heartbeatTimeoutMs: 30_000 };
const access = { endpoint: 'ipc:///run/controller', curve: undefined };

describe('the srun step of a device host', () => {
  it('is one task on its node, with only what it asks for and the job memory shared', () => {
    const cpu = onNode('gpo-n2', { index: 3, label: 'cpu:1', kind: 'cpu', visibleDevices: '' });
    expect(srunArguments(cpu, 1)).toEqual([
      '--nodes=1', '--ntasks=1', '--nodelist=gpo-n2', '--exact', '--cpus-per-task=1', '--mem=0', '--input=none', '--job-name=gpu-orchestrate:gpo-n2:cpu:1',
    ]);
  });

  it('a GPU host asks Slurm for one GPU of its own and takes no CUDA_VISIBLE_DEVICES from the controller', () => {
    const device = gpu('node7', 3, 3);
    const args = srunArguments(device, 8);
    expect(args).toContain('--gpus-per-task=1');
    expect(args).toContain('--cpus-per-task=8');
    const env = srunEnvironment(device, hostEnvironment(device, 4));
    expect(env.CUDA_VISIBLE_DEVICES).toBeUndefined();
    expect('CUDA_VISIBLE_DEVICES' in env).toBe(true); // undefined: the batch shell's value is dropped, not inherited
    expect(env.OMP_NUM_THREADS).toBe('4');
    expect(env.PYTHONPATH).toMatch(/python$|python:/);
  });

  it('a CPU host sees no GPU', () => {
    const cpu = onNode('gpo-n1', { index: 0, label: 'cpu:0', kind: 'cpu', visibleDevices: '' });
    expect(srunEnvironment(cpu, hostEnvironment(cpu, 1)).CUDA_VISIBLE_DEVICES).toBe('');
    expect(srunArguments(cpu, 1).some((arg) => arg.startsWith('--gpus'))).toBe(false);
  });

  it('every GPU host uses cuda:0, the GPU Slurm binds to its task, never its local rank as an ordinal', () => {
    for (const device of [gpu('node7', 0, 0), gpu('node7', 3, 3)]) {
      const env = srunEnvironment(device, { ...hostEnvironment(device, 1), ...hostConfigEnvironment(remoteConfig(hostLaunchConfig(template, { device, incarnation: 0, generations: [0] }, access))) });
      // The config (over TCP it holds the run's keys) goes in the environment srun passes on, never argv.
      const config = JSON.parse(env.GPU_ORCHESTRATE_HOST_CONFIG as string) as Record<string, unknown>;
      expect(config).toMatchObject({ torch_device: 'cuda:0', device_label: device.label, device_index: device.index, controller_pid: 0 });
      expect(hostArguments('srun')).toEqual(['-m', 'gpu_orchestrate_worker.remote', 'srun']);
    }
  });

  it("shares each node's CPUs among its hosts, at least one each", () => {
    const devices = nodeDevices([{ node: 'a', gpus: 4 }, { node: 'b', gpus: 2 }], { kind: 'all' }, 'slurm');
    const cpus = cpusPerHost({ jobId: '1', nodes: ['a', 'b'], cpusPerNode: [32, 1], gpusPerNode: [4, 2] }, devices);
    expect([...cpus.entries()]).toEqual([[0, 8], [1, 8], [2, 8], [3, 8], [4, 1], [5, 1]]);
  });
});
