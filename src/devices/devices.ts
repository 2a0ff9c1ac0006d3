/**
 * Which devices a run uses. One device = one device host process.
 *
 * `--gpus all` takes CUDA_VISIBLE_DEVICES when it is set, else what nvidia-smi lists, else falls
 * back to one CPU device with a warning. `--gpus 0,2` names GPUs as the controller's own process
 * would see them (so relative to CUDA_VISIBLE_DEVICES when that is set, as torch does).
 * `--gpus cpu:N` runs N CPU devices: how tests and CI run without a GPU.
 */
import { UsageError } from '../errors.js';

export type DeviceRequest = { kind: 'all' } | { kind: 'gpus'; indices: number[] } | { kind: 'cpu'; count: number };

export interface Device {
  /** Position in the run's device list: the id used on the wire. */
  index: number;
  /** As shown to the user: "cuda:2", "cpu:0". */
  label: string;
  kind: 'cuda' | 'cpu';
  /** CUDA_VISIBLE_DEVICES for the host: the one GPU it sees as cuda:0; "" for CPU devices. */
  visibleDevices: string;
  /** The node its host runs on, when the run spans nodes (src/launch/): then the label starts with it. */
  node?: string;
}

/** A device of a run that spans nodes: "gpo-n1:cpu:0", "node7:cuda:3". */
export function onNode(node: string, device: Omit<Device, 'node'>): Device {
  return { ...device, label: `${node}:${device.label}`, node };
}

export interface DeviceDiscovery {
  /** CUDA_VISIBLE_DEVICES of the controller, undefined when unset. */
  cudaVisibleDevices: string | undefined;
  /** GPU indices nvidia-smi lists, or undefined when nvidia-smi is missing or fails. */
  listGpus(): number[] | undefined;
}

const GPUS_HELP = 'use all, a list of GPU indices such as 0,2, or cpu:N such as cpu:2';

export function parseDeviceRequest(text: string): DeviceRequest {
  const value = text.trim().toLowerCase();
  if (value === 'all') return { kind: 'all' };
  const cpu = /^cpu(?::(\d+))?$/.exec(value);
  if (cpu) {
    const count = cpu[1] === undefined ? 1 : Number(cpu[1]);
    if (count < 1 || count > 1024) throw new UsageError(`--gpus ${text}: the number of CPU devices must be between 1 and 1024`);
    return { kind: 'cpu', count };
  }
  if (/^\d+(\s*,\s*\d+)*$/.test(value)) {
    const indices = value.split(',').map((part) => Number(part.trim()));
    const repeated = indices.find((index, position) => indices.indexOf(index) !== position);
    if (repeated !== undefined) throw new UsageError(`--gpus ${text}: GPU ${repeated} is listed twice; name each GPU once`);
    return { kind: 'gpus', indices };
  }
  throw new UsageError(`--gpus ${JSON.stringify(text)} is not a device list: ${GPUS_HELP}`);
}

function cpuDevices(count: number): Device[] {
  return Array.from({ length: count }, (_, index) => ({ index, label: `cpu:${index}`, kind: 'cpu' as const, visibleDevices: '' }));
}

function gpuDevices(visible: string[]): Device[] {
  return visible.map((id, index) => ({ index, label: `cuda:${id}`, kind: 'cuda' as const, visibleDevices: id }));
}

function splitVisible(value: string): string[] {
  return value.split(',').map((part) => part.trim()).filter((part) => part.length > 0);
}

export interface ResolvedDevices {
  devices: Device[];
  /** Set when the run fell back to the CPU: say it, since the user may expect GPUs. */
  warning?: string;
}

export function resolveDevices(request: DeviceRequest, discovery: DeviceDiscovery): ResolvedDevices {
  if (request.kind === 'cpu') return { devices: cpuDevices(request.count) };

  const fromEnvironment = discovery.cudaVisibleDevices;
  // Ids the controller's process can see, in the order CUDA numbers them.
  let visible: string[] | undefined;
  let source: string;
  if (fromEnvironment !== undefined) {
    visible = splitVisible(fromEnvironment).filter((id) => id !== '-1');
    source = `CUDA_VISIBLE_DEVICES=${JSON.stringify(fromEnvironment)}`;
  } else {
    visible = discovery.listGpus()?.map(String);
    source = visible === undefined ? 'nvidia-smi is not available' : 'nvidia-smi';
  }

  if (request.kind === 'all') {
    if (visible && visible.length > 0) return { devices: gpuDevices(visible) };
    const why = visible === undefined ? 'nvidia-smi is not available' : `no GPU is visible (${source})`;
    return {
      devices: cpuDevices(1),
      warning: `no GPU found (${why}): running on one CPU device. Pass --gpus cpu:N to choose the CPU device count, or check your NVIDIA driver with nvidia-smi.`,
    };
  }

  if (!visible || visible.length === 0) {
    throw new UsageError(`--gpus ${request.indices.join(',')}: no GPU is visible (${source}); run on the CPU with --gpus cpu:N`);
  }
  const missing = request.indices.filter((index) => index >= visible.length);
  if (missing.length > 0) {
    throw new UsageError(
      `--gpus ${request.indices.join(',')}: GPU ${missing.join(', ')} does not exist; ${source} shows ${visible.length} GPU(s), numbered 0 to ${visible.length - 1}`,
    );
  }
  return { devices: gpuDevices(request.indices.map((index) => visible[index] as string)) };
}
