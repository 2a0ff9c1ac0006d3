/**
 * The Slurm allocation the controller runs in, as Slurm describes it: its nodes (SLURM_JOB_NODELIST
 * expanded by `scontrol show hostnames`), the CPUs of each (SLURM_JOB_CPUS_PER_NODE) and the GPUs
 * of each (the job's GRES per node from `scontrol show job -d`, else SLURM_GPUS_PER_NODE,
 * SLURM_GPUS_ON_NODE or SLURM_JOB_GPUS, which describe one node and so stand for all of them).
 * The parsing is pure; readAllocation() runs scontrol through the function it is given.
 */
import { UsageError } from '../errors.js';

export interface SlurmAllocation {
  jobId: string;
  /** In the allocation's order: the order Slurm numbers them. */
  nodes: string[];
  /** By node, in the order of `nodes`. */
  cpusPerNode: number[];
  /** By node; 0 where the node has none. */
  gpusPerNode: number[];
}

/** SLURM_JOB_CPUS_PER_NODE's compressed form: "72(x2),36" -> [72, 72, 36]. */
export function expandCounts(text: string): number[] {
  const counts: number[] = [];
  for (const part of text.split(',').map((each) => each.trim()).filter(Boolean)) {
    const match = /^(\d+)(?:\(x(\d+)\))?$/.exec(part);
    if (!match) throw new Error(`cannot read ${JSON.stringify(text)}: expected counts such as 72(x2),36`);
    for (let repeat = 0; repeat < Number(match[2] ?? 1); repeat += 1) counts.push(Number(match[1]));
  }
  return counts;
}

/**
 * A GPU count as Slurm writes it: "4", "a100:4", "gpu:a100:4", "gpu:4(IDX:0-3)", or a list of
 * types "a100:2,v100:1" (3). Undefined when the text names no GPU.
 */
export function gpuCount(text: string): number | undefined {
  let total: number | undefined;
  for (const part of text.replace(/\([^)]*\)/g, '').split(',').map((each) => each.trim()).filter(Boolean)) {
    const count = part.split(':').at(-1) ?? '';
    if (/^\d+$/.test(count)) total = (total ?? 0) + Number(count);
  }
  return total;
}

/** SLURM_JOB_GPUS, GPU indices on this node ("0,1,3"): how many. */
function indexCount(text: string): number {
  return text.split(',').filter((part) => part.trim().length > 0).length;
}

/**
 * `scontrol show job -d`'s lines per group of nodes: "Nodes=gpo-n[1-2] CPU_IDs=0-1 Mem=0
 * GRES=gpu:2(IDX:0-1)". Returns each group's node expression and GPU count (0 when GRES names none).
 */
export function gresByNodes(scontrolJob: string): { nodes: string; gpus: number }[] {
  const groups: { nodes: string; gpus: number }[] = [];
  for (const line of scontrolJob.split('\n')) {
    const match = /^\s*Nodes=(\S+)\s.*?\bGRES=(\S*)/.exec(line);
    if (!match) continue;
    const gpus = (match[2] ?? '').replace(/\([^)]*\)/g, '').split(',').filter((part) => part.startsWith('gpu'));
    groups.push({ nodes: match[1] as string, gpus: gpuCount(gpus.join(',')) ?? 0 });
  }
  return groups;
}

/** What readAllocation() needs from the world: run scontrol and return its stdout. */
export type RunCommand = (command: string, args: string[]) => Promise<string>;

function required(env: NodeJS.ProcessEnv, name: string): string {
  const value = env[name];
  if (!value) {
    throw new UsageError(
      `--launcher slurm runs inside a Slurm allocation, but ${name} is not set. Run gpu-orchestrate in an sbatch script or under salloc (see the README's Slurm section), or pass --launcher local.`,
    );
  }
  return value;
}

/** GPUs per node when scontrol's per-node GRES says nothing: the job's variables, which describe one node. */
function gpusFromEnvironment(env: NodeJS.ProcessEnv): number {
  if (env.SLURM_GPUS_PER_NODE) return gpuCount(env.SLURM_GPUS_PER_NODE) ?? 0;
  if (env.SLURM_GPUS_ON_NODE) return Number(env.SLURM_GPUS_ON_NODE) || 0;
  if (env.SLURM_JOB_GPUS) return indexCount(env.SLURM_JOB_GPUS);
  return 0;
}

export async function readAllocation(env: NodeJS.ProcessEnv, run: RunCommand): Promise<SlurmAllocation> {
  const jobId = required(env, 'SLURM_JOB_ID');
  const nodeList = env.SLURM_JOB_NODELIST ?? required(env, 'SLURM_NODELIST');
  const hostnames = async (expression: string) => (await run('scontrol', ['show', 'hostnames', expression])).split('\n').map((line) => line.trim()).filter(Boolean);
  const nodes = await hostnames(nodeList);
  if (nodes.length === 0) throw new UsageError(`scontrol show hostnames ${nodeList} named no node; check SLURM_JOB_NODELIST`);
  const cpus = env.SLURM_JOB_CPUS_PER_NODE ? expandCounts(env.SLURM_JOB_CPUS_PER_NODE) : [];
  const gpus = new Map<string, number>();
  for (const group of gresByNodes(await run('scontrol', ['show', 'job', '-d', jobId]).catch(() => ''))) {
    for (const name of await hostnames(group.nodes)) gpus.set(name, group.gpus);
  }
  const fallback = gpusFromEnvironment(env);
  return {
    jobId,
    nodes,
    cpusPerNode: nodes.map((_, index) => cpus[index] ?? cpus.at(-1) ?? 1),
    gpusPerNode: nodes.map((name) => (gpus.get(name) || fallback)),
  };
}
