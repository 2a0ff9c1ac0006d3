import { execa } from 'execa';
import { describe, expect, it } from 'vitest';
import { hostLaunchConfig } from '../../src/launch/host-config.js';
import { SSH_OPTIONS, sshRemoteCommand, sshStdinLine } from '../../src/launch/ssh.js';

const device = { index: 1, label: 'gpu-b:cuda:0', kind: 'cuda' as const, visibleDevices: '0', node: 'gpu-b' };
const template = { python: '/opt/env/bin/python', script: "/shared/it's here/detect.py", options: { weights: 'a b' }, threadsPerReplica: 2 };
const config = hostLaunchConfig(template, device, [0], { events: 'ipc:///r/events', control: 'ipc:///r/host-1', tasks: ['ipc:///r/task-1-0'], takeBack: 'ipc:///r/take-back' });

describe('a device host over ssh', () => {
  it('never asks for a password, and gives up on a machine that stops answering', () => {
    expect(SSH_OPTIONS).toEqual(expect.arrayContaining(['BatchMode=yes', 'ServerAliveInterval=5']));
  });

  it('runs in the controller\'s folder, with only where our package is on the command line', async () => {
    const command = sshRemoteCommand({ python: template.python, config }, '/shared/my run');
    expect(command.startsWith("cd '/shared/my run' && exec env PYTHONPATH=")).toBe(true);
    expect(command).not.toMatch(/CUDA_VISIBLE_DEVICES|OMP_NUM_THREADS/);
    // A POSIX shell reads it back into the same words: the config survives quotes and spaces.
    const words = (await execa('sh', ['-c', `set -- ${command.slice(command.indexOf('/opt/env'))}; printf '%s\\n' "$@"`])).stdout.split('\n');
    expect(words.slice(0, 5)).toEqual(['/opt/env/bin/python', '-m', 'gpu_orchestrate_worker.remote', 'ssh', '--config']);
    expect(JSON.parse(words[5] as string)).toMatchObject({ script: "/shared/it's here/detect.py", options: { weights: 'a b' }, controller_pid: 0 });
  });

  it("sends the host's own variables as one JSON line on stdin", () => {
    expect(sshStdinLine({ CUDA_VISIBLE_DEVICES: '0', OMP_NUM_THREADS: '2' })).toBe('{"CUDA_VISIBLE_DEVICES":"0","OMP_NUM_THREADS":"2"}\n');
  });
});
