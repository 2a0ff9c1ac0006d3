/**
 * How replicas share the machine's CPU cores: each gets cores / replicas torch threads (and
 * OMP/MKL threads), at least one. CPU devices that outnumber the cores cannot each have one:
 * they take turns, and the run is no faster than with fewer. Said before the run, as a warning.
 * (Several replicas per CPU device are asked for by name, --workers-per-gpu, and the README
 * says they share their device's cores: no warning for those.)
 */
import type { Device } from './devices.js';

export function threadsPerReplica(replicasInRun: number, cores: number): number {
  return Math.max(1, Math.floor(cores / Math.max(1, replicasInRun)));
}

/** The warning for CPU devices that outnumber the cores, or undefined. `threads`: what each replica gets. */
export function cpuShareWarning(devices: readonly Device[], cores: number, threads: number): string | undefined {
  const cpuDevices = devices.filter((device) => device.kind === 'cpu').length;
  if (cpuDevices <= cores) return undefined;
  return `--gpus cpu:${cpuDevices} on ${cores} core(s): the ${cpuDevices} CPU devices share them, each with ${threads} torch thread(s) (cores / devices, at least one), and take turns on the cores, so the run is no faster than with cpu:${cores}; pass --gpus cpu:${cores} or fewer to give each device a core of its own.`;
}
