/**
 * Which launcher starts the device hosts, and so which devices the run has: this machine's
 * (--gpus), every node of a Slurm allocation, the machines of a hosts file, or the ranks an
 * external launcher will start. Also how many CPU threads each replica gets where the hosts run.
 */
import { readFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { execa } from 'execa';
import { cpuShareWarning, threadsPerReplica } from '../devices/cpu-share.js';
import { resolveDevices, type Device, type DeviceDiscovery } from '../devices/devices.js';
import { UsageError } from '../errors.js';
import type { RunConfig } from '../options/config.js';
import { autoLauncherNotice, type LaunchOptions } from '../options/launch-options.js';
import { parseListen, type ListenAddress } from '../transport/listen.js';
import { readAllocation, type RunCommand } from './allocation.js';
import { execaLauncher } from './execa-launcher.js';
import { ExternalLauncher } from './external.js';
import { facingAddress, systemRoutes, type RouteWorld } from './facing-address.js';
import { parseHostsFile } from './hosts-file.js';
import type { Launcher } from './launcher.js';
import { hostsByNode, nodeDevices, rankDevices } from './node-devices.js';
import { cpusPerHost, SrunLauncher } from './srun.js';
import { SshLauncher } from './ssh.js';

export interface LaunchPlan {
  launch: LaunchOptions;
  launcher: Launcher;
  devices: Device[];
  /** The cores that --workers-per-gpu auto divides among the devices (replica-plan.ts's cpuCap). */
  replicaCores: number;
  /** Torch threads for each replica, given each device's replica slots; 0 leaves torch's default. */
  threads(slotsPerDevice: number): number;
  /** Lines to print before the run (notices and warnings), given each device's replica slots. */
  notices(slotsPerDevice: number): string[];
  /** What the user must see even with --quiet before the run can go on (the external launcher's command). */
  announce?: () => string;
  /** For the dry run: how the hosts start. */
  description: string;
  /** Where the controller listens over TCP: --listen, or for hosts on other machines the address that faces them; undefined: ipc://. */
  listen: ListenAddress | undefined;
}

export interface PlanWorld {
  env: NodeJS.ProcessEnv;
  discovery: DeviceDiscovery;
  run?: RunCommand;
  cores?: number;
  routes?: RouteWorld;
}

const runCommand: RunCommand = async (command, args) => String((await execa(command, args, { timeout: 60_000 })).stdout);

const LOCAL: LaunchOptions = { launcher: 'local', auto: false, minHosts: 1, startTimeoutSeconds: 0 };

function nodesText(devices: readonly Device[]): string {
  const nodes = [...hostsByNode(devices).keys()];
  return nodes.length > 4 ? `${nodes.slice(0, 3).join(', ')} and ${nodes.length - 3} more` : nodes.join(', ');
}

/**
 * Hosts on other machines cannot reach an ipc:// file: without --listen, the controller listens
 * on its address on the route to the first node that is not this machine (a notice says which).
 */
async function remoteListen(config: RunConfig, nodes: readonly string[], world: PlanWorld, lines: string[]): Promise<ListenAddress | undefined> {
  if (config.listen) return config.listen;
  const facing = await facingAddress(nodes, world.routes ?? systemRoutes);
  if (!facing) return undefined;
  lines.push(`the device hosts connect over TCP to ${facing.address}, this machine's address on the route to ${facing.node} (--listen chooses another)`);
  return parseListen(facing.address);
}

/** A refusal of the Slurm launcher that was chosen without being asked says why it was chosen. */
function chosen<T>(launch: LaunchOptions, env: NodeJS.ProcessEnv, plan: () => T): T {
  try {
    return plan();
  } catch (error) {
    if (!launch.auto || !(error instanceof UsageError)) throw error;
    throw new UsageError(`${error.message} (the Slurm launcher was chosen because SLURM_JOB_ID=${env.SLURM_JOB_ID} is set and --gpus is all; --launcher local runs on this node only)`);
  }
}

export async function planLaunch(config: RunConfig, world: PlanWorld): Promise<LaunchPlan> {
  const launch = config.launch ?? LOCAL;
  const cores = world.cores ?? availableParallelism();
  switch (launch.launcher) {
    case 'local': {
      const { devices, warning } = resolveDevices(config.devices, world.discovery);
      const threads = (slots: number) => threadsPerReplica(devices.length * slots, cores);
      const notices = (slots: number) => [warning, cpuShareWarning(devices, cores, threads(slots))].flatMap((text) => (text ? [`warning: ${text}`] : []));
      return { launch, launcher: execaLauncher, devices, replicaCores: cores, threads, notices, description: 'local (children of this process)', listen: config.listen };
    }
    case 'slurm': {
      const allocation = await readAllocation(world.env, world.run ?? runCommand);
      const devices = chosen(launch, world.env, () => nodeDevices(allocation.nodes.map((node, index) => ({ node, gpus: allocation.gpusPerNode[index] ?? 0 })), config.devices, 'slurm'));
      const cpus = cpusPerHost(allocation, devices);
      const fewest = Math.min(...cpus.values());
      const lines = launch.auto ? [autoLauncherNotice(world.env)] : [];
      lines.push(`slurm: ${devices.length} device host(s) on ${nodesText(devices)} (job ${allocation.jobId}), each an srun step of its own; work starts with the first host that checks in`);
      const listen = await remoteListen(config, [...hostsByNode(devices).keys()], world, lines);
      return { launch, launcher: new SrunLauncher(cpus), devices, replicaCores: fewest * devices.length, threads: (slots) => Math.max(1, Math.floor(fewest / slots)), notices: () => lines, description: `slurm (srun, one step per host, job ${allocation.jobId})`, listen };
    }
    case 'ssh': {
      const file = launch.hostsFile as string;
      const hosts = parseHostsFile(readFileSync(file, 'utf8'), file);
      const devices = nodeDevices(hosts.map((host) => ({ node: host.node, gpus: host.slots })), config.devices, 'ssh');
      const machines = new Map(devices.map((device) => [device.index, hosts.find((host) => host.node === device.node) as (typeof hosts)[number]]));
      // Each machine's cores are not known here: taken to be this one's, shared by its devices.
      const most = Math.max(...[...hostsByNode(devices).values()].map((ranks) => ranks.length));
      const lines = [`ssh: ${devices.length} device host(s) on ${nodesText(devices)}, started over ssh; work starts with the first host that checks in`];
      const listen = await remoteListen(config, [...hostsByNode(devices).keys()], world, lines);
      return { launch, launcher: new SshLauncher(machines), devices, replicaCores: cores * hosts.length, threads: (slots) => threadsPerReplica(most * slots, cores), notices: () => lines, description: `ssh (${file})`, listen };
    }
    case 'external': {
      // Where the hosts will run is the external launcher's secret: the user says where they reach this machine.
      if (!config.listen) throw new UsageError('--launcher external needs --listen ADDRESS: an address of this machine that the hosts reach (for example --listen 10.0.0.5, or --listen 0.0.0.0 --advertise NAME); for hosts on this machine only, --listen 127.0.0.1');
      const devices = rankDevices(launch.ranks ?? 1, config.devices);
      const launcher = new ExternalLauncher(config.python, devices.length);
      const announce = () =>
        `external: waiting for ${devices.length} device host(s), ranks 0 to ${devices.length - 1}. Start each, on any machine that shares this filesystem, with:\n  ${launcher.command()}\n` +
        `Its rank comes from GPU_ORCHESTRATE_RANK, SLURM_PROCID, OMPI_COMM_WORLD_RANK, PMI_RANK or JOB_COMPLETION_INDEX. Hosts may join at any time; work starts with the first.`;
      // Where the hosts run, and on how many cores, is the external launcher's: torch's defaults stand.
      return { launch, launcher, devices, replicaCores: cores * devices.length, threads: () => 0, notices: () => [], announce, description: `external (${devices.length} rank(s) join)`, listen: config.listen };
    }
  }
}
