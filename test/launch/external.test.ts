import { readFileSync, statSync, existsSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it, vi } from 'vitest';
import { ExternalLauncher, JOIN_VARIABLE } from '../../src/launch/external.js';
import { hostEnvironment, hostLaunchConfig } from '../../src/launch/host-config.js';
import { rankDevices } from '../../src/launch/node-devices.js';
import { describeDeath } from '../../src/workers/death.js';

const template = { python: 'python3', script: '/shared/detect.py', options: {}, threadsPerReplica: 2, slotsPerDevice: 1, heartbeatTimeoutMs: 30_000 };
const access = { endpoint: 'ipc:///run/controller', curve: undefined };

describe('--launcher external', () => {
  it("prints one command for every rank, naming the join folder but no host's config", () => {
    const launcher = new ExternalLauncher('/opt/env/bin/python', 2);
    try {
      const command = launcher.command();
      expect(command).toMatch(new RegExp(`^${JOIN_VARIABLE}=\\S+ PYTHONPATH=\\S+ /opt/env/bin/python -m gpu_orchestrate_worker.remote join$`));
      expect(command).not.toMatch(/events|--config/);
    } finally {
      launcher.close();
    }
  });

  it("writes each rank's launch config where that rank reads it, for the user alone, and removes it at the end", () => {
    const launcher = new ExternalLauncher('python3', 2);
    const folder = launcher.command().split(' ')[0]?.split('=')[1] as string;
    const [cpu] = rankDevices(2, { kind: 'cpu', count: 1 }).slice(1);
    const [gpu] = rankDevices(1, { kind: 'all' });
    launcher.start({ device: cpu!, python: 'python3', config: hostLaunchConfig(template, { device: cpu!, incarnation: 0, generations: [3] }, access), env: hostEnvironment(cpu!, 2), onOutput: () => undefined });
    const file = path.join(folder, 'rank-1.json');
    const written = JSON.parse(readFileSync(file, 'utf8')) as { config: Record<string, unknown>; env: Record<string, string> };
    expect(written.config).toMatchObject({ device_index: 1, generations: [3], controller_pid: 0 });
    expect(written.env).toEqual({ CUDA_VISIBLE_DEVICES: '', OMP_NUM_THREADS: '2', MKL_NUM_THREADS: '2' });
    expect(statSync(file).mode & 0o777).toBe(0o600);
    expect(statSync(folder).mode & 0o777).toBe(0o700);
    launcher.start({ device: gpu!, python: 'python3', config: hostLaunchConfig(template, { device: gpu!, incarnation: 0, generations: [0] }, access), env: hostEnvironment(gpu!, 2), onOutput: () => undefined });
    expect(JSON.parse(readFileSync(path.join(folder, 'rank-0.json'), 'utf8')).env).not.toHaveProperty('CUDA_VISIBLE_DEVICES');
    launcher.close();
    expect(existsSync(folder)).toBe(false);
  });

  it('a joined host that goes silent is given up on; one told to shut down is gone when it says it left, or after a wait', async () => {
    const launcher = new ExternalLauncher('python3', 2);
    vi.useFakeTimers();
    try {
      const [device] = rankDevices(1, { kind: 'cpu', count: 1 });
      const spec = { device: device!, python: 'python3', config: hostLaunchConfig(template, { device: device!, incarnation: 0, generations: [0] }, access), env: {}, onOutput: () => undefined };
      const silent = launcher.start(spec);
      expect(silent.ownProcess).toBe(false);
      silent.kill();
      expect(describeDeath(await silent.exited)).toMatch(/it left the run, or lost its way to the controller; a host started again with its rank joins in its place/);
      const leaving = launcher.start(spec);
      let settled = false;
      void leaving.exited.then(() => (settled = true));
      leaving.stop();
      await vi.advanceTimersByTimeAsync(4_000);
      expect(settled).toBe(false); // the shutdown command may still be on its way: the sockets stay open
      leaving.left?.(0);
      expect(describeDeath(await leaving.exited)).toBe('the device host is gone: it left the run (exit code 0)');
      const mute = launcher.start(spec);
      mute.stop();
      await vi.advanceTimersByTimeAsync(5_000);
      expect(describeDeath(await mute.exited)).toMatch(/told to shut down and did not say it left within 5 s/);
    } finally {
      vi.useRealTimers();
      launcher.close();
    }
  });
});
