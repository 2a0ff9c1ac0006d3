import { describe, expect, it } from 'vitest';
import { planLaunch } from '../../src/launch/plan.js';
import type { RunConfig } from '../../src/options/config.js';
import { SrunLauncher } from '../../src/launch/srun.js';

const base = { devices: { kind: 'all' }, python: 'python3' } as unknown as RunConfig;
const scontrol = async (_command: string, args: string[]) => (args[1] === 'hostnames' ? 'node7\nnode8' : '     Nodes=node[7-8] CPU_IDs=0-31 Mem=0 GRES=gpu:4(IDX:0-3)\n');
const env = { SLURM_JOB_ID: '12', SLURM_JOB_NODELIST: 'node[7-8]', SLURM_JOB_CPUS_PER_NODE: '32(x2)' };
const discovery = { cudaVisibleDevices: undefined, listGpus: () => undefined };

describe('the launch plan', () => {
  it('slurm: a device per GPU of every node, an srun step each, the node\'s CPUs shared among its hosts', async () => {
    const plan = await planLaunch({ ...base, launch: { launcher: 'slurm', auto: true, minHosts: 1, startTimeoutSeconds: 600 } }, { env, discovery, run: scontrol, cores: 2 });
    expect(plan.launcher).toBeInstanceOf(SrunLauncher);
    expect(plan.devices.map((device) => device.label)).toEqual(['node7:cuda:0', 'node7:cuda:1', 'node7:cuda:2', 'node7:cuda:3', 'node8:cuda:0', 'node8:cuda:1', 'node8:cuda:2', 'node8:cuda:3']);
    expect(plan.threads(2)).toBe(4); // 32 CPUs / 4 hosts / 2 replicas
    expect(plan.notices(1)).toEqual([
      'SLURM_JOB_ID=12 and --gpus all: starting the device hosts with srun on every node of the allocation (--launcher slurm); pass --launcher local to run on this node only',
      'slurm: 8 device host(s) on node7, node8 (job 12), each an srun step of its own; work starts with the first host that checks in',
    ]);
  });

  it('a refusal of the Slurm launcher chosen without being asked says why it was chosen', async () => {
    const noGpus = async (_command: string, args: string[]) => (args[1] === 'hostnames' ? 'node7' : '     Nodes=node7 CPU_IDs=0-31 Mem=0 GRES=\n');
    const planning = planLaunch({ ...base, launch: { launcher: 'slurm', auto: true, minHosts: 1, startTimeoutSeconds: 600 } }, { env: { ...env, SLURM_JOB_NODELIST: 'node7' }, discovery, run: noGpus });
    await expect(planning).rejects.toThrow(/no GPU on node7.*\(the Slurm launcher was chosen because SLURM_JOB_ID=12 is set and --gpus is all; --launcher local runs on this node only\)/);
  });
});
