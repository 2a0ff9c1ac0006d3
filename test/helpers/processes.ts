/** The processes of a run, found by the marker every one of them inherits from the controller. */
import { readFileSync, readdirSync } from 'node:fs';

export const MARKER_VARIABLE = 'GPU_ORCHESTRATE_TEST_MARKER';

function isZombie(pid: number): boolean {
  // A zombie holds no memory: only its parent's wait() is due.
  return /State:\s+Z/.test(readFileSync(`/proc/${pid}/status`, 'latin1'));
}

/** Pids of live processes that inherited the marker: the controller, its hosts and replicas. */
export function survivors(marker: string): number[] {
  const found: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry) || Number(entry) === process.pid) continue;
    try {
      const environ = readFileSync(`/proc/${entry}/environ`, 'latin1');
      if (environ.split('\0').includes(`${MARKER_VARIABLE}=${marker}`) && !isZombie(Number(entry))) found.push(Number(entry));
    } catch {
      // the process ended while we looked, or is not ours to read
    }
  }
  return found;
}

export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return !isZombie(pid);
  } catch {
    return false;
  }
}

/** Pids of the device hosts (python -m gpu_orchestrate_worker host) of the run with this marker. */
export function hostPids(marker: string): number[] {
  return survivors(marker).filter((pid) => {
    try {
      return readFileSync(`/proc/${pid}/cmdline`, 'latin1').split('\0').includes('gpu_orchestrate_worker');
    } catch {
      return false;
    }
  });
}

/** SIGKILL to a process group (a detached controller's: the controller, hosts and replicas). */
export function killGroup(leader: number | undefined): void {
  if (leader === undefined) return;
  try {
    process.kill(-leader, 'SIGKILL');
  } catch {
    // no process is left in that group
  }
}

/** Ends every process of a run: its process group, then anything with its marker that left the group. */
export function killRun(leader: number | undefined, marker: string): void {
  killGroup(leader);
  for (const pid of survivors(marker)) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // gone already
    }
  }
}

/** Polls until `condition` holds, or fails the test with `what` after `timeoutMs`. */
export async function waitFor(condition: () => boolean, what: string, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs / 1000} s waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/** Waits (a few seconds at most: children follow their parent's death) until no process has the marker. */
export async function waitGone(marker: string, timeoutMs = 5_000): Promise<number[]> {
  await waitFor(() => survivors(marker).length === 0, `the processes of run ${marker} to exit`, timeoutMs).catch(() => undefined);
  return survivors(marker);
}
