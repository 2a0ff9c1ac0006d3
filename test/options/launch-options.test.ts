import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { buildRunConfig } from '../../src/options/config.js';
import { autoLauncherNotice, buildLaunchOptions } from '../../src/options/launch-options.js';

const dir = mkdtempSync(path.join(tmpdir(), 'go-launch-options-'));
writeFileSync(path.join(dir, 'detect.py'), 'def setup(ctx): pass\ndef infer(m, b): return b\n');
writeFileSync(path.join(dir, 'hosts.txt'), 'gpu-a slots=2\n');
const base = { script: 'detect.py', inputs: 'images/', output: 'out.jsonl' };

describe('--launcher', () => {
  it('is local by default, and slurm inside an allocation when --gpus is all, saying so', () => {
    expect(buildRunConfig(base, {}, dir).launch).toMatchObject({ launcher: 'local', auto: false });
    const inJob = buildRunConfig(base, { SLURM_JOB_ID: '42' }, dir).launch;
    expect(inJob).toMatchObject({ launcher: 'slurm', auto: true, minHosts: 1, startTimeoutSeconds: 600 });
    expect(autoLauncherNotice({ SLURM_JOB_ID: '42' })).toMatch(/SLURM_JOB_ID=42 and --gpus all: .*srun.*--launcher local/);
  });

  it('stays local in an allocation when --gpus names devices, or when --launcher local is given', () => {
    expect(buildRunConfig({ ...base, gpus: 'cpu:2' }, { SLURM_JOB_ID: '42' }, dir).launch?.launcher).toBe('local');
    expect(buildRunConfig({ ...base, launcher: 'local' }, { SLURM_JOB_ID: '42' }, dir).launch).toMatchObject({ launcher: 'local', auto: false });
  });

  it('takes the companions of each launcher', () => {
    expect(buildLaunchOptions({ launcher: 'ssh', hosts: 'hosts.txt', minHosts: '2', startTimeout: '30' }, { kind: 'all' }, {}, dir)).toEqual({
      launcher: 'ssh', auto: false, hostsFile: path.join(dir, 'hosts.txt'), minHosts: 2, startTimeoutSeconds: 30,
    });
    expect(buildLaunchOptions({ launcher: 'external', ranks: '4' }, { kind: 'cpu', count: 1 }, {}, dir)).toMatchObject({ launcher: 'external', ranks: 4 });
  });

  it.each([
    [{ launcher: 'mpi' }, /--launcher "mpi": use one of local, slurm, external, ssh/],
    [{ launcher: 'ssh' }, /--launcher ssh needs --hosts FILE/],
    [{ launcher: 'ssh', hosts: 'nope.txt' }, /--hosts nope.txt: no such file/],
    [{ hosts: 'hosts.txt' }, /--hosts names the machines of --launcher ssh/],
    [{ launcher: 'external' }, /--launcher external needs --ranks N/],
    [{ launcher: 'external', ranks: '0' }, /--ranks takes a whole number from 1/],
    [{ ranks: '2' }, /--ranks is the number of hosts --launcher external waits for/],
    [{ minHosts: '2' }, /--min-hosts and --start-timeout apply to hosts started on other nodes/],
    [{ launcher: 'slurm', startTimeout: 'soon' }, /--start-timeout takes a whole number/],
  ])('refuses %j', (raw, message) => {
    expect(() => buildLaunchOptions(raw, { kind: 'all' }, {}, dir)).toThrow(message);
  });
});
