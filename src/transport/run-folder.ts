/**
 * The run folder: a private folder (mode 0700) in the temporary folder that holds the run's
 * ipc:// socket files. The transport removes it when the run ends; a controller that was
 * SIGKILLed cannot, so each run folder records its owner, and a run that starts removes the
 * folders of owners that are gone. Never a live run's: a folder whose owner is not recorded yet,
 * whose owner is alive, or that belongs to another user or another pid namespace (a container
 * sharing /tmp, where the pid means another process) is left alone.
 */
import { mkdtempSync, readFileSync, readdirSync, readlinkSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';

export const RUN_FOLDER_PREFIX = 'gpu-orchestrate-';
/** What mkdtemp makes of the prefix: six random characters after it, so gpu-orchestrate-bench-... is not one. */
const RUN_FOLDER_NAME = /^gpu-orchestrate-[A-Za-z0-9]{6}$/;
const OWNER_FILE = 'owner.json';

/** Who made a run folder: its pid, when that process started (to tell a reused pid), its pid namespace. */
export interface RunFolderOwner {
  pid: number;
  start: string | null;
  pidNamespace: string | null;
}

/** The process's start time in clock ticks since boot (Linux); null where /proc does not say. */
function startTime(pid: number): string | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'latin1');
    // Fields after the command name, which is in parentheses and may hold spaces: starttime is the 22nd field.
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19] ?? null;
  } catch {
    return null;
  }
}

function pidNamespace(): string | null {
  try {
    return readlinkSync('/proc/self/ns/pid');
  } catch {
    return null;
  }
}

export function currentOwner(): RunFolderOwner {
  return { pid: process.pid, start: startTime(process.pid), pidNamespace: pidNamespace() };
}

/** The owner is gone: no such process, or its pid now names a process that started later. */
export function ownerGone(owner: RunFolderOwner): boolean {
  try {
    process.kill(owner.pid, 0);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ESRCH') return true;
    return false; // EPERM: alive, another user's
  }
  const now = startTime(owner.pid);
  return owner.start !== null && now !== null && now !== owner.start;
}

function readOwner(folder: string): RunFolderOwner | undefined {
  try {
    const owner = JSON.parse(readFileSync(path.join(folder, OWNER_FILE), 'utf8')) as RunFolderOwner;
    return Number.isInteger(owner.pid) && owner.pid > 0 ? owner : undefined;
  } catch {
    return undefined;
  }
}

/** Removes the run folders in `parent` whose owner process is gone; returns their paths. */
export function removeStaleRunFolders(parent: string = tmpdir()): string[] {
  const removed: string[] = [];
  const uid = process.getuid?.();
  const namespace = pidNamespace();
  let names: string[];
  try {
    names = readdirSync(parent);
  } catch {
    return removed;
  }
  for (const name of names) {
    if (!RUN_FOLDER_NAME.test(name)) continue;
    const folder = path.join(parent, name);
    try {
      const info = statSync(folder);
      if (!info.isDirectory() || (uid !== undefined && info.uid !== uid)) continue;
      const owner = readOwner(folder);
      if (!owner || owner.pidNamespace !== namespace || !ownerGone(owner)) continue;
      rmSync(folder, { recursive: true, force: true });
      removed.push(folder);
    } catch {
      // gone meanwhile, or not ours to read: leave it
    }
  }
  return removed;
}

/** Makes this run's folder, after removing those of runs that were killed; records its owner. */
export function makeRunFolder(parent: string = tmpdir()): string {
  removeStaleRunFolders(parent);
  const folder = mkdtempSync(path.join(parent, RUN_FOLDER_PREFIX));
  writeFileSync(path.join(folder, OWNER_FILE), JSON.stringify(currentOwner()));
  return folder;
}
