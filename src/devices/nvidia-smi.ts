import { execaSync } from 'execa';
import type { DeviceDiscovery } from './devices.js';

/** GPU indices as nvidia-smi lists them; undefined when it is missing or fails. */
export function listGpusWithNvidiaSmi(): number[] | undefined {
  try {
    const { stdout, exitCode } = execaSync('nvidia-smi', ['--query-gpu=index', '--format=csv,noheader'], { reject: false, timeout: 10_000 });
    if (exitCode !== 0) return undefined;
    return stdout.split('\n').map((line) => line.trim()).filter(Boolean).map(Number).filter(Number.isInteger);
  } catch {
    return undefined;
  }
}

export function systemDiscovery(env: NodeJS.ProcessEnv = process.env): DeviceDiscovery {
  return { cudaVisibleDevices: env.CUDA_VISIBLE_DEVICES, listGpus: listGpusWithNvidiaSmi };
}
