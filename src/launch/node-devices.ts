/**
 * The devices of a run that spans nodes: a device per GPU of each node (--gpus all), or N CPU
 * devices per node (--gpus cpu:N), named by node ("gpo-n1:cpu:0", "node7:cuda:3"). A device's
 * index is its host's rank, counted across the nodes in order. Its GPU is the one its launcher
 * gives its host (srun's --gpus-per-task, a hosts file's slot), which the host sees as cuda:0.
 */
import { onNode, type Device, type DeviceRequest } from '../devices/devices.js';
import { UsageError } from '../errors.js';

export interface NodeSlots {
  node: string;
  /** GPUs the node has for the run (0: none). */
  gpus: number;
}

export function nodeDevices(nodes: readonly NodeSlots[], request: DeviceRequest, launcher: string): Device[] {
  if (request.kind === 'gpus') {
    throw new UsageError(
      `--gpus ${request.indices.join(',')} names GPUs of one machine; with --launcher ${launcher} every GPU of each node runs (--gpus all), or pass --gpus cpu:N for N CPU devices per node`,
    );
  }
  const devices: Device[] = [];
  for (const { node, gpus } of nodes) {
    const count = request.kind === 'cpu' ? request.count : gpus;
    for (let local = 0; local < count; local += 1) {
      const device = request.kind === 'cpu'
        ? { index: devices.length, label: `cpu:${local}`, kind: 'cpu' as const, visibleDevices: '' }
        : { index: devices.length, label: `cuda:${local}`, kind: 'cuda' as const, visibleDevices: String(local) };
      devices.push(onNode(node, device));
    }
  }
  if (devices.length === 0) {
    throw new UsageError(
      `--launcher ${launcher}: no GPU on ${nodes.map((each) => each.node).join(', ')}. Ask for GPUs (sbatch --gpus-per-node=N, or slots=N in the hosts file), or run CPU devices with --gpus cpu:N`,
    );
  }
  return devices;
}

/** The devices of hosts an external launcher starts: one per rank, each on the one GPU (or the CPU) it is given. */
export function rankDevices(ranks: number, request: DeviceRequest): Device[] {
  if (request.kind === 'gpus') {
    throw new UsageError(`--gpus ${request.indices.join(',')}: with --launcher external each host uses the GPU its launcher gives it; pass --gpus all (GPUs) or --gpus cpu (CPU devices)`);
  }
  const kind = request.kind === 'cpu' ? ('cpu' as const) : ('cuda' as const);
  return Array.from({ length: ranks }, (_, index) => ({ index, label: `rank${index}:${kind}:0`, kind, visibleDevices: kind === 'cpu' ? '' : '0' }));
}

/** The ranks of the devices on each node: how many hosts share a node (for its CPUs), and which. */
export function hostsByNode(devices: readonly Device[]): Map<string, number[]> {
  const byNode = new Map<string, number[]>();
  for (const device of devices) if (device.node !== undefined) byNode.set(device.node, [...(byNode.get(device.node) ?? []), device.index]);
  return byNode;
}
