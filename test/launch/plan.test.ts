import { describe, expect, it } from 'vitest';
import { planLaunch } from '../../src/launch/plan.js';
import type { RunConfig } from '../../src/options/config.js';
import { SrunLauncher } from '../../src/launch/srun.js';

const base = { devices: { kind: 'all' }, python: 'python3' } as unknown as RunConfig;
const scontrol = async (_command: string, args: string[]) => (args[1] === 'hostnames' ? 'node7\nnode8' : '     Nodes=node[7-8] CPU_IDs=0-31 Mem=0 GRES=gpu:4(IDX:0-3)\n');
const env = { SLURM_JOB_ID: '12', SLURM_JOB_NODELIST: 'node[7-8]', SLURM_JOB_CPUS_PER_NODE: '32(x2)' };
const discovery = { cudaVisibleDevices: undefined, listGpus: () => undefined };
/** The controller runs on node7 (10.0.0.7), the allocation's first node, as an sbatch script does. */
const routes = {
  resolve: async (node: string) => ({ node7: '10.0.0.7', node8: '10.0.0.8' })[node] ?? Promise.reject(new Error(`getaddrinfo ENOTFOUND ${node}`)),
  sourceFor: async () => '10.0.0.7',
};
const slurm = { launcher: 'slurm', auto: true, minHosts: 1, startTimeoutSeconds: 600 } as const;

describe('the launch plan', () => {
  it('slurm: a device per GPU of every node, an srun step each, the node\'s CPUs shared among its hosts', async () => {
    const plan = await planLaunch({ ...base, launch: slurm }, { env, discovery, run: scontrol, cores: 2, routes });
    expect(plan.launcher).toBeInstanceOf(SrunLauncher);
    expect(plan.devices.map((device) => device.label)).toEqual(['node7:cuda:0', 'node7:cuda:1', 'node7:cuda:2', 'node7:cuda:3', 'node8:cuda:0', 'node8:cuda:1', 'node8:cuda:2', 'node8:cuda:3']);
    expect(plan.threads(2)).toBe(4); // 32 CPUs / 4 hosts / 2 replicas
    expect(plan.notices(1)).toEqual([
      'SLURM_JOB_ID=12 and --gpus all: starting the device hosts with srun on every node of the allocation (--launcher slurm); pass --launcher local to run on this node only',
      'slurm: 8 device host(s) on node7, node8 (job 12), each an srun step of its own; work starts with the first host that checks in',
      "the device hosts connect over TCP to 10.0.0.7, this machine's address on the route to node8 (--listen chooses another)",
    ]);
    // node7 is this machine: the address that faces the other node, never 127.x, any free port.
    expect(plan.listen).toEqual({ host: '10.0.0.7', port: 0, advertise: '10.0.0.7' });
  });

  it('slurm: --listen is taken as given; an allocation of this machine alone stays on ipc://', async () => {
    const listen = { host: '0.0.0.0', port: 5555, advertise: 'node7-ib' };
    const given = await planLaunch({ ...base, listen, launch: slurm }, { env, discovery, run: scontrol, routes: { ...routes, resolve: () => Promise.reject(new Error('not asked')) } });
    expect(given.listen).toBe(listen);
    const alone = async (_command: string, args: string[]) => (args[1] === 'hostnames' ? 'node7' : '     Nodes=node7 CPU_IDs=0-31 Mem=0 GRES=gpu:4(IDX:0-3)\n');
    const loopback = { resolve: async () => '127.0.1.1', sourceFor: async () => '127.0.0.1' };
    const here = await planLaunch({ ...base, launch: slurm }, { env: { ...env, SLURM_JOB_NODELIST: 'node7' }, discovery, run: alone, routes: loopback });
    expect(here.listen).toBeUndefined();
    expect(here.notices(1).join('\n')).not.toMatch(/TCP/);
  });

  it('a node that cannot be resolved, or an external launcher without --listen: refused, asking for --listen', async () => {
    const unknown = async (_command: string, args: string[]) => (args[1] === 'hostnames' ? 'node9' : '     Nodes=node9 CPU_IDs=0-31 Mem=0 GRES=gpu:1\n');
    await expect(planLaunch({ ...base, launch: slurm }, { env: { ...env, SLURM_JOB_NODELIST: 'node9' }, discovery, run: unknown, routes })).rejects.toThrow(
      /cannot resolve node node9 \(getaddrinfo ENOTFOUND node9\) to choose the address its device hosts connect to: pass --listen/,
    );
    const external = { launcher: 'external', auto: false, minHosts: 1, startTimeoutSeconds: 0, ranks: 2 } as const;
    await expect(planLaunch({ ...base, devices: { kind: 'cpu', count: 1 }, launch: external } as RunConfig, { env: {}, discovery })).rejects.toThrow(/--launcher external needs --listen ADDRESS/);
  });

  it('a refusal of the Slurm launcher chosen without being asked says why it was chosen', async () => {
    const noGpus = async (_command: string, args: string[]) => (args[1] === 'hostnames' ? 'node7' : '     Nodes=node7 CPU_IDs=0-31 Mem=0 GRES=\n');
    const planning = planLaunch({ ...base, launch: { launcher: 'slurm', auto: true, minHosts: 1, startTimeoutSeconds: 600 } }, { env: { ...env, SLURM_JOB_NODELIST: 'node7' }, discovery, run: noGpus });
    await expect(planning).rejects.toThrow(/no GPU on node7.*\(the Slurm launcher was chosen because SLURM_JOB_ID=12 is set and --gpus is all; --launcher local runs on this node only\)/);
  });
});
