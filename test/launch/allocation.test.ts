import { describe, expect, it } from 'vitest';
import { expandCounts, gpuCount, gresByNodes, readAllocation, type RunCommand } from '../../src/launch/allocation.js';
import { UsageError } from '../../src/errors.js';

/** scontrol as Slurm 22.05 answers: hostnames expanded from a hostlist, the job's per-node GRES. */
function fakeScontrol(hostlists: Record<string, string[]>, job: string): RunCommand & { calls: string[][] } {
  const calls: string[][] = [];
  const run = async (command: string, args: string[]) => {
    calls.push([command, ...args]);
    if (args[0] === 'show' && args[1] === 'hostnames') {
      const names = hostlists[args[2] as string];
      if (!names) throw new Error(`unexpected hostlist ${args[2]}`);
      return names.join('\n');
    }
    if (args[0] === 'show' && args[1] === 'job') return job;
    throw new Error(`unexpected command ${command} ${args.join(' ')}`);
  };
  return Object.assign(run, { calls });
}

const JOB_TWO_GROUPS = `JobId=12 JobName=match
   NumNodes=3 NumCPUs=144 NumTasks=3 CPUs/Task=1 ReqB:S:C:T=0:0:*:*
   JOB_GRES=gpu:a100:10
     Nodes=node[7-8] CPU_IDs=0-47 Mem=0 GRES=gpu:a100:4(IDX:0-3)
     Nodes=node9 CPU_IDs=0-47 Mem=0 GRES=gpu:a100:2(IDX:4-5)
`;

describe('reading the allocation', () => {
  it('expands SLURM_JOB_CPUS_PER_NODE', () => {
    expect(expandCounts('2(x2)')).toEqual([2, 2]);
    expect(expandCounts('72(x2),36')).toEqual([72, 72, 36]);
    expect(expandCounts('8')).toEqual([8]);
    expect(() => expandCounts('eight')).toThrow(/72\(x2\),36/);
  });

  it('counts GPUs however Slurm writes them', () => {
    expect(gpuCount('4')).toBe(4);
    expect(gpuCount('a100:4')).toBe(4);
    expect(gpuCount('gpu:a100:4(IDX:0-3)')).toBe(4);
    expect(gpuCount('a100:2,v100:1')).toBe(3);
    expect(gpuCount('')).toBeUndefined();
  });

  it("reads each node group's GPUs from scontrol show job -d (no GRES: none)", () => {
    expect(gresByNodes(JOB_TWO_GROUPS)).toEqual([{ nodes: 'node[7-8]', gpus: 4 }, { nodes: 'node9', gpus: 2 }]);
    expect(gresByNodes('     Nodes=gpo-n[1-2] CPU_IDs=0-1 Mem=0 GRES=\n')).toEqual([{ nodes: 'gpo-n[1-2]', gpus: 0 }]);
  });

  it('names the nodes in order with their CPUs and GPUs, per node where the nodes differ', async () => {
    const run = fakeScontrol({ 'node[7-9]': ['node7', 'node8', 'node9'], 'node[7-8]': ['node7', 'node8'], node9: ['node9'] }, JOB_TWO_GROUPS);
    const allocation = await readAllocation({ SLURM_JOB_ID: '12', SLURM_JOB_NODELIST: 'node[7-9]', SLURM_JOB_CPUS_PER_NODE: '48(x3)' }, run);
    expect(allocation).toEqual({ jobId: '12', nodes: ['node7', 'node8', 'node9'], cpusPerNode: [48, 48, 48], gpusPerNode: [4, 4, 2] });
    expect(run.calls[0]).toEqual(['scontrol', 'show', 'hostnames', 'node[7-9]']);
  });

  it("falls back to the job's GPU variables when scontrol names no GRES per node", async () => {
    const run = fakeScontrol({ 'gpo-n[1-2]': ['gpo-n1', 'gpo-n2'] }, '     Nodes=gpo-n[1-2] CPU_IDs=0-1 Mem=0 GRES=\n');
    const base = { SLURM_JOB_ID: '5', SLURM_JOB_NODELIST: 'gpo-n[1-2]', SLURM_JOB_CPUS_PER_NODE: '2(x2)' };
    expect((await readAllocation({ ...base, SLURM_GPUS_ON_NODE: '2' }, run)).gpusPerNode).toEqual([2, 2]);
    expect((await readAllocation({ ...base, SLURM_JOB_GPUS: '0,1,3' }, run)).gpusPerNode).toEqual([3, 3]);
    expect((await readAllocation({ ...base, SLURM_GPUS_PER_NODE: 'h100:8' }, run)).gpusPerNode).toEqual([8, 8]);
    expect((await readAllocation(base, run)).gpusPerNode).toEqual([0, 0]);
  });

  it('outside an allocation, says where to run it', async () => {
    await expect(readAllocation({}, fakeScontrol({}, ''))).rejects.toThrow(UsageError);
    await expect(readAllocation({}, fakeScontrol({}, ''))).rejects.toThrow(/SLURM_JOB_ID is not set.*sbatch script or under salloc/);
  });
});
