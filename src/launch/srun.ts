/**
 * The Slurm launcher: each device host is one srun job step of one task, on its node of the
 * allocation. One step per host, not one step for all: a step spans its nodes, and Slurm ends a
 * whole step when any of its nodes fails, so a step per host keeps a lost node from ending the
 * hosts of the others (the job itself survives only with sbatch --no-kill), and lets the
 * controller restart one host alone.
 */
import { execa } from 'execa';
import type { Device } from '../devices/devices.js';
import { pythonEnv } from '../workers/python.js';
import type { SlurmAllocation } from './allocation.js';
import { hostArguments, hostConfigEnvironment, remoteConfig } from './host-command.js';
import { dyingWithController, LaunchedHost } from './launched-host.js';
import type { HostHandle, HostSpec, Launcher } from './launcher.js';
import { hostsByNode } from './node-devices.js';

/** srun's options for the step of one device host (before the command). */
export function srunArguments(device: Device, cpusPerTask: number): string[] {
  if (device.node === undefined) throw new Error(`srunArguments: device ${device.label} has no node`);
  return [
    '--nodes=1',
    '--ntasks=1',
    `--nodelist=${device.node}`,
    // Only the CPUs (and GPU) asked for here: the steps of a node's hosts run side by side.
    '--exact',
    `--cpus-per-task=${cpusPerTask}`,
    // The job's memory on the node, without taking it from the node's other steps (srun(1), --mem).
    '--mem=0',
    // One GPU per host, chosen by Slurm and bound with CUDA_VISIBLE_DEVICES: the host sees it as
    // cuda:0 whatever its index on the node (never its local rank as an ordinal). Without it, or
    // with -n2 --gres=gpu:2, every task sees every GPU of the step.
    ...(device.kind === 'cuda' ? ['--gpus-per-task=1'] : []),
    '--input=none',
    `--job-name=gpu-orchestrate:${device.label}`,
  ];
}

/** CPUs for each host's step: the node's CPUs in the allocation, shared by its hosts (at least 1). */
export function cpusPerHost(allocation: SlurmAllocation, devices: readonly Device[]): Map<number, number> {
  const cpus = new Map<number, number>();
  for (const [node, ranks] of hostsByNode(devices)) {
    const nodeCpus = allocation.cpusPerNode[allocation.nodes.indexOf(node)] ?? 1;
    for (const rank of ranks) cpus.set(rank, Math.max(1, Math.floor(nodeCpus / ranks.length)));
  }
  return cpus;
}

/**
 * The host's environment for srun, which exports it to the task (srun's default --export=ALL).
 * A GPU host gets no CUDA_VISIBLE_DEVICES from us: Slurm sets the step's own, and one inherited
 * from the batch shell (all of the batch node's GPUs) must not reach it.
 */
export function srunEnvironment(device: Device, env: Record<string, string>): Record<string, string | undefined> {
  const { CUDA_VISIBLE_DEVICES: visible, ...rest } = env;
  return { ...pythonEnv(rest), CUDA_VISIBLE_DEVICES: device.kind === 'cuda' ? undefined : visible };
}

export class SrunLauncher implements Launcher {
  constructor(private readonly cpus: Map<number, number>) {}

  start(spec: HostSpec): HostHandle {
    const { device } = spec;
    const args = [...srunArguments(device, this.cpus.get(device.index) ?? 1), spec.python, ...hostArguments('srun')];
    const [command, commandArgs] = dyingWithController('srun', args);
    const subprocess = execa(command, commandArgs, { env: srunEnvironment(device, { ...spec.env, ...hostConfigEnvironment(remoteConfig(spec.config)) }), stdin: 'ignore', all: true, buffer: false, reject: false, cleanup: true });
    return new LaunchedHost(subprocess, { launcher: 'srun', node: device.node ?? '?', ownLine: /^\s*(srun|slurmstepd\S*): /, stop: 'kill' }, spec.onOutput);
  }
}
