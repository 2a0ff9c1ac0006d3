/**
 * --launcher and its companions -> LaunchOptions: how the device hosts start (src/launch/plan.ts).
 * Inside a Slurm allocation with --gpus all, the Slurm launcher is chosen without being asked,
 * and the run says so.
 */
import { existsSync, statSync } from 'node:fs';
import path from 'node:path';
import type { DeviceRequest } from '../devices/devices.js';
import { UsageError } from '../errors.js';

export const LAUNCHERS = ['local', 'slurm', 'external', 'ssh'] as const;
export type LauncherName = (typeof LAUNCHERS)[number];

/** How long hosts started elsewhere have to check in, by default: a pod may wait for its image, a step for its node. */
export const DEFAULT_START_TIMEOUT_SECONDS = 600;

export interface LaunchOptions {
  launcher: LauncherName;
  /** Chosen without --launcher: SLURM_JOB_ID is set and --gpus is all. */
  auto: boolean;
  /** --launcher ssh: the hosts file (absolute). */
  hostsFile?: string;
  /** --launcher external: how many hosts will join (ranks 0 to ranks-1). */
  ranks?: number;
  /** Fewer hosts than this checked in by the start-up timeout: the run stops. */
  minHosts: number;
  startTimeoutSeconds: number;
}

export interface RawLaunchOptions {
  launcher?: string;
  hosts?: string;
  ranks?: string;
  minHosts?: string;
  startTimeout?: string;
}

function wholeNumber(flag: string, text: string, max: number): number {
  if (!/^\s*\d+\s*$/.test(text) || Number(text) < 1 || Number(text) > max) throw new UsageError(`${flag} takes a whole number from 1 to ${max} (got ${JSON.stringify(text)})`);
  return Number(text);
}

export function buildLaunchOptions(raw: RawLaunchOptions, devices: DeviceRequest, env: NodeJS.ProcessEnv, cwd: string): LaunchOptions {
  const given = raw.launcher?.trim().toLowerCase();
  if (given !== undefined && !(LAUNCHERS as readonly string[]).includes(given)) {
    throw new UsageError(`--launcher ${JSON.stringify(raw.launcher)}: use one of ${LAUNCHERS.join(', ')}`);
  }
  const auto = given === undefined && Boolean(env.SLURM_JOB_ID) && devices.kind === 'all';
  const launcher = (given ?? (auto ? 'slurm' : 'local')) as LauncherName;
  if (raw.hosts !== undefined && launcher !== 'ssh') throw new UsageError(`--hosts names the machines of --launcher ssh; add --launcher ssh or drop --hosts`);
  if (raw.ranks !== undefined && launcher !== 'external') throw new UsageError(`--ranks is the number of hosts --launcher external waits for; add --launcher external or drop --ranks`);
  if (launcher === 'local' && (raw.minHosts !== undefined || raw.startTimeout !== undefined)) {
    throw new UsageError(`--min-hosts and --start-timeout apply to hosts started on other nodes (--launcher slurm, ssh or external); drop them for a run on this machine`);
  }
  const options: LaunchOptions = {
    launcher,
    auto,
    minHosts: raw.minHosts === undefined ? 1 : wholeNumber('--min-hosts', raw.minHosts, 100_000),
    startTimeoutSeconds: raw.startTimeout === undefined ? DEFAULT_START_TIMEOUT_SECONDS : wholeNumber('--start-timeout', raw.startTimeout, 7 * 24 * 3600),
  };
  if (launcher === 'ssh') {
    if (raw.hosts === undefined) throw new UsageError('--launcher ssh needs --hosts FILE: the machines, one per line as HOST slots=N');
    const file = path.resolve(cwd, raw.hosts);
    if (!existsSync(file) || !statSync(file).isFile()) throw new UsageError(`--hosts ${raw.hosts}: no such file; write the machines one per line as HOST slots=N`);
    options.hostsFile = file;
  }
  if (launcher === 'external') {
    if (raw.ranks === undefined) throw new UsageError('--launcher external needs --ranks N: how many device hosts will join (ranks 0 to N-1, one device each)');
    options.ranks = wholeNumber('--ranks', raw.ranks, 100_000);
  }
  return options;
}

/** The line that says the Slurm launcher was chosen without being asked. */
export function autoLauncherNotice(env: NodeJS.ProcessEnv): string {
  return `SLURM_JOB_ID=${env.SLURM_JOB_ID} and --gpus all: starting the device hosts with srun on every node of the allocation (--launcher slurm); pass --launcher local to run on this node only`;
}
