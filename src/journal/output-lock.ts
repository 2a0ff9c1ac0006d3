/**
 * One writer per output. Two runs appending to one output duplicate items and tear lines, so a
 * run holds an exclusive lock on a lock file beside its output (results.jsonl.lock) for its whole
 * life, and a second run on the same output (plain, --resume or --overwrite) is refused at once.
 *
 * The lock is the kernel's (fs-native-extensions: an open-file-description lock on Linux, flock
 * on macOS), not a pid in a file that a later run must judge stale: the kernel drops it when the
 * process ends however it ends, SIGKILL included, so a lock is never left behind. The file holds
 * the holder's pid and command line only to name it to the run that is refused. It is named
 * after the output's real path, so a symlink to the output meets the same lock.
 */
import { closeSync, constants, existsSync, fstatSync, ftruncateSync, openSync, readFileSync, realpathSync, statSync, unlinkSync, writeSync } from 'node:fs';
import path from 'node:path';
import locks from 'fs-native-extensions';
import { UsageError } from '../errors.js';
import { describeFsError } from '../util/fs-errors.js';

/** Who holds an output: written into the lock file, read by a run that is refused. */
export interface LockHolder {
  pid: number;
  command: string;
  started: string;
}

/** Errors of a file system that keeps no locks: the run goes on unguarded, with a warning. */
const NO_LOCKS = new Set(['ENOLCK', 'ENOTSUP', 'EOPNOTSUPP', 'ENOSYS']);

export function lockPathFor(output: string): string {
  const real = existsSync(output) ? realpathSync(output) : path.join(realpathSync(path.dirname(output)), path.basename(output));
  return `${real}.lock`;
}

function readHolder(file: string): LockHolder | undefined {
  try {
    const holder = JSON.parse(readFileSync(file, 'utf8')) as Partial<LockHolder>;
    return typeof holder.pid === 'number' && typeof holder.command === 'string' ? (holder as LockHolder) : undefined;
  } catch {
    return undefined; // the holder has locked it and not yet written its name
  }
}

function inUse(output: string, holder: LockHolder | undefined): UsageError {
  const who = holder ? `pid ${holder.pid}, started ${holder.started}: ${holder.command}` : 'it is starting up';
  const stop = holder ? `stop it (kill ${holder.pid})` : 'stop it';
  return new UsageError(
    `${output} is being written by another gpu-orchestrate run (${who}). One run writes an output at a time: wait for that run to end or ${stop}, then run this again (with --resume to continue what it wrote). Nothing was changed.`,
  );
}

export class OutputLock {
  private constructor(
    readonly file: string,
    private readonly fd: number | undefined,
    /** Set when the file system keeps no locks: the run is not guarded against a second one. */
    readonly warning: string | undefined,
  ) {}

  /** Takes the output's lock or throws a UsageError naming the run that holds it. */
  static acquire(output: string, holder: LockHolder): OutputLock {
    const file = lockPathFor(output);
    // A run that ends removes its lock file while it still holds it; one opened just before
    // that removal can be locked but is no longer the file at this path: try the path again.
    for (let attempt = 0; attempt < 5; attempt += 1) {
      let fd: number;
      try {
        fd = openSync(file, constants.O_RDWR | constants.O_CREAT, 0o644);
      } catch (error) {
        throw new UsageError(`--output ${output}: cannot create ${path.basename(file)} beside it (${describeFsError(error)}); give an --output in a folder you can write to`);
      }
      let granted: boolean;
      try {
        granted = locks.tryLock(fd);
      } catch (error) {
        closeSync(fd);
        if (NO_LOCKS.has((error as NodeJS.ErrnoException).code ?? '')) {
          return new OutputLock(file, undefined, `the file system of ${output} keeps no file locks (${describeFsError(error)}): a second run on the same output would not be refused`);
        }
        throw error;
      }
      if (!granted) {
        closeSync(fd);
        throw inUse(output, readHolder(file));
      }
      const atPath = statSync(file, { throwIfNoEntry: false });
      const locked = fstatSync(fd);
      if (atPath && atPath.ino === locked.ino && atPath.dev === locked.dev) {
        ftruncateSync(fd, 0);
        writeSync(fd, `${JSON.stringify(holder)}\n`, 0);
        return new OutputLock(file, fd, undefined);
      }
      closeSync(fd);
    }
    throw inUse(output, readHolder(file));
  }

  /** Removes the lock file, then lets the lock go (the kernel would at exit anyway). */
  release(): void {
    if (this.fd === undefined) return;
    try {
      unlinkSync(this.file);
    } catch {
      // gone already: nothing to tidy
    }
    closeSync(this.fd);
  }
}
