import { execa } from 'execa';
import { describe, expect, it } from 'vitest';
import { hostLaunchConfig } from '../../src/launch/host-config.js';
import { SSH_OPTIONS, sshRemoteCommand, sshStdinLine } from '../../src/launch/ssh.js';

const device = { index: 1, label: 'gpu-b:cuda:0', kind: 'cuda' as const, visibleDevices: '0', node: 'gpu-b' };
const template = { python: '/opt/env/bin/python', script: "/shared/it's here/detect.py", options: { weights: 'a b' }, threadsPerReplica: 2, slotsPerDevice: 1, heartbeatTimeoutMs: 30_000 };
const access = { endpoint: 'ipc:///r/controller', curve: undefined };
const config = hostLaunchConfig(template, { device: device, incarnation: 0, generations: [0] }, access);

describe('a device host over ssh', () => {
  it('never asks for a password, and gives up on a machine that stops answering', () => {
    expect(SSH_OPTIONS).toEqual(expect.arrayContaining(['BatchMode=yes', 'ServerAliveInterval=5']));
  });

  it('runs in the controller\'s folder, with only where our package is on the command line (no config: it holds the keys)', async () => {
    const command = sshRemoteCommand({ python: template.python }, '/shared/my run');
    expect(command.startsWith("cd '/shared/my run' && exec env PYTHONPATH=")).toBe(true);
    expect(command).not.toMatch(/CUDA_VISIBLE_DEVICES|OMP_NUM_THREADS/);
    // A POSIX shell reads it back into the same words: the config survives quotes and spaces.
    const words = (await execa('sh', ['-c', `set -- ${command.slice(command.indexOf('/opt/env'))}; printf '%s\\n' "$@"`])).stdout.split('\n');
    expect(words).toEqual(['/opt/env/bin/python', '-m', 'gpu_orchestrate_worker.remote', 'ssh']);
  });

  it("sends the host's own variables and its launch config (never on the command line) as one JSON line on stdin", () => {
    const line = sshStdinLine({ CUDA_VISIBLE_DEVICES: '0', OMP_NUM_THREADS: '2' }, config);
    expect(line.endsWith('\n') && line.indexOf('\n') === line.length - 1).toBe(true);
    const env = JSON.parse(line) as Record<string, string>;
    expect(env).toMatchObject({ CUDA_VISIBLE_DEVICES: '0', OMP_NUM_THREADS: '2' });
    expect(JSON.parse(env.GPU_ORCHESTRATE_HOST_CONFIG as string)).toMatchObject({ script: "/shared/it's here/detect.py", options: { weights: 'a b' }, controller_pid: 0 });
  });
});
