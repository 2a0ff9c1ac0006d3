/**
 * The launchers as far as one machine shows them: --launcher external run whole (hosts started
 * with the printed command, as a Kubernetes Indexed Job would, JOB_COMPLETION_INDEX their rank),
 * and the plans of slurm and ssh. Runs across nodes are test/cluster/'s (npm run test:cluster).
 */
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { execa } from 'execa';
import { describe, expect, it } from 'vitest';
import { fixture, jsonlItems, readOutput, runCli, scratchDir, startCli, waitFor } from '../helpers/cli.js';
import { MARKER_VARIABLE } from '../helpers/processes.js';

describe('--launcher external', () => {
  it('prints the one command that starts a host; two hosts started with it do every item once; a rank the run lacks is refused', async () => {
    const dir = scratchDir('go-external-');
    const items = path.join(dir, 'items.jsonl');
    writeFileSync(items, jsonlItems(60));
    const output = path.join(dir, 'out.jsonl');
    const run = startCli(['--script', fixture('echo.py'), '--inputs', items, '--output', output, '--launcher', 'external', '--ranks', '2', '--listen', '127.0.0.1', '--gpus', 'cpu', '--batch-size', '4', '--quiet']);
    // Even with --quiet: nothing happens until someone runs it.
    await waitFor(() => /with:\n {2}.+\n/.test(run.stderrSoFar()), 'the command that starts a host', 60_000);
    const command = (/with:\n {2}(.+)\n/.exec(run.stderrSoFar()) as RegExpExecArray)[1] as string;
    expect(run.stderrSoFar()).toMatch(/^external: waiting for 2 device host\(s\), ranks 0 to 1\./);
    const env = { [MARKER_VARIABLE]: run.marker };
    const stranger = await execa('sh', ['-c', command], { env: { ...env, GPU_ORCHESTRATE_RANK: '2' }, reject: false });
    expect(stranger.exitCode).toBe(78);
    expect(stranger.stderr).toMatch(/rank 2 \(from GPU_ORCHESTRATE_RANK\) is not one of this run's ranks, 0 to 1/);
    const hosts = ['0', '1'].map((rank) => execa('sh', ['-c', command], { env: { ...env, JOB_COMPLETION_INDEX: rank }, reject: false, cwd: dir }));
    const result = await run.done;
    expect(result.exitCode, result.stderr).toBe(0);
    const lines = readOutput(output);
    expect(new Set(lines.map((line) => line.id)).size).toBe(60);
    expect(lines).toHaveLength(60);
    expect(new Set(lines.map((line) => line.device)).size).toBeGreaterThanOrEqual(1);
    expect(lines.every((line) => /^rank[01]:cpu:0$/.test(line.device))).toBe(true);
    // Told to shut down at the end, each host exits by itself.
    for (const host of await Promise.all(hosts)) expect(host.exitCode, host.stderr).toBe(0);
  });
});

describe('--launcher slurm and ssh, planned here', () => {
  it('slurm outside an allocation: exit 2, saying where to run it', async () => {
    const dir = scratchDir('go-slurm-here-');
    writeFileSync(path.join(dir, 'items.jsonl'), jsonlItems(3));
    const result = await runCli(['--script', fixture('echo.py'), '--inputs', path.join(dir, 'items.jsonl'), '--output', path.join(dir, 'out.jsonl'), '--launcher', 'slurm', '--gpus', 'cpu:2'], { env: { SLURM_JOB_ID: '' } });
    expect(result.exitCode).toBe(2);
    expect(result.stderr).toMatch(/--launcher slurm runs inside a Slurm allocation, but SLURM_JOB_ID is not set\. Run gpu-orchestrate in an sbatch script or under salloc/);
  });

  it('ssh --dry-run: the devices of every machine in the hosts file, named by machine', async () => {
    const dir = scratchDir('go-ssh-plan-');
    writeFileSync(path.join(dir, 'items.jsonl'), jsonlItems(3));
    writeFileSync(path.join(dir, 'hosts.txt'), 'gpu-a slots=2\nme@gpu-b slots=1\n');
    const result = await runCli(['--script', fixture('echo.py'), '--inputs', path.join(dir, 'items.jsonl'), '--output', path.join(dir, 'out.jsonl'), '--launcher', 'ssh', '--hosts', path.join(dir, 'hosts.txt'), '--listen', '10.9.8.7', '--dry-run']);
    expect(result.exitCode, result.stderr).toBe(0);
    expect(result.stdout).toMatch(/launcher: ssh \(.*hosts\.txt\)\nlisten: {3}tcp:\/\/10\.9\.8\.7 \(CURVE\); hosts connect to 10\.9\.8\.7\ndevices: {2}3\n {2}gpu-a:cuda:0 .*CUDA_VISIBLE_DEVICES="0"\n {2}gpu-a:cuda:1 .*CUDA_VISIBLE_DEVICES="1"\n {2}gpu-b:cuda:0 /);
    expect(result.stderr).toMatch(/ssh: 3 device host\(s\) on gpu-a, gpu-b, started over ssh/);
  });
});
