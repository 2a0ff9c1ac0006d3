/**
 * A launch config in a file only its owner can read, for a launcher that cannot pass it in the
 * environment (a host started by hand, a job spec that names a file on a shared filesystem):
 * `python -m gpu_orchestrate_worker host --config-file PATH`. Over TCP the config holds the run's
 * keys; the host refuses a file that other users may read.
 */
import { closeSync, constants, openSync, writeSync } from 'node:fs';
import type { HostLaunchConfig } from './host-config.js';

/** Writes `config` to a new file at `file` (mode 0600; an existing file is not overwritten) and returns its path. */
export function writeHostConfigFile(file: string, config: HostLaunchConfig): string {
  // Created with its final mode in one call: never readable by others, not even for a moment.
  const fd = openSync(file, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL, 0o600);
  try {
    writeSync(fd, JSON.stringify(config));
  } finally {
    closeSync(fd);
  }
  return file;
}
