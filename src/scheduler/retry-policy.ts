/**
 * What happens to an item that comes back: retried, or given up on. Pure policy over an item's
 * history; the scheduler keeps the histories and applies the verdicts.
 *
 * - out of memory alone: handed back and retried alone, on a device it has not tried when one
 *   is live, until it has been tried 1 + retries times; then failed with the devices tried.
 * - in the running batch of a replica that died: retried alone and exclusively (nothing else in
 *   flight on that replica), so a second death names the item that causes it. Failed after two
 *   deaths when the process crashed by itself at least once (SIGSEGV, abort, an exit code): that
 *   is the item's doing. A SIGKILL comes from outside the process (the kernel's OOM killer, an
 *   operator, a preempting scheduler) and is weaker evidence: an item that only ever saw its
 *   replica SIGKILLed is failed after three, so random kills do not fail healthy items.
 * - in the running batch of a replica that timed out: retried alone; failed once it has timed
 *   out 1 + retries times.
 */

/** died: the process crashed by itself; killed: SIGKILL from outside; timed out: we killed it. */
export type LossCause = 'died' | 'killed' | 'timed out';

export const MAX_DEATHS_PER_ITEM = 2;
/** When every death was a SIGKILL from outside. */
export const MAX_KILLS_PER_ITEM = 3;

/** An item the scheduler gave up on, and why (the session turns it into a failed output line). */
export interface Exhausted {
  index: number;
  cause: 'died' | 'timed out' | 'out of memory';
  /** How many times it suffered the cause. */
  count: number;
  devicesTried: number[];
  /** How many times it was handed out (the output's "attempts"). */
  attempts: number;
}

/** What an item has been through; kept only for items that came back at least once. */
export interface ItemHistory {
  dispatches: number;
  /** Deaths of its replica while it ran, whether crashes or kills. */
  deaths: number;
  /** At least one of those deaths was a crash of the process's own doing. */
  crashed: boolean;
  timeouts: number;
  ooms: number;
  devicesTried: Set<number>;
  /** Run alone, with nothing else in flight on its replica. */
  isolate: boolean;
}

/** Histories are made on an item's first return (most items never come back) and forgotten once it is settled. */
export class ItemHistories {
  private readonly entries = new Map<number, ItemHistory>();

  get(index: number): ItemHistory | undefined {
    return this.entries.get(index);
  }

  forget(index: number): void {
    this.entries.delete(index);
  }

  of(index: number): ItemHistory {
    let entry = this.entries.get(index);
    if (!entry) {
      entry = { dispatches: 1, deaths: 0, crashed: false, timeouts: 0, ooms: 0, devicesTried: new Set(), isolate: false };
      this.entries.set(index, entry);
    }
    return entry;
  }
}

/** Did the item come back before in a way that makes it run apart from fresh work? */
export function cameBack(history: ItemHistory | undefined): boolean {
  return history !== undefined && (history.isolate || history.ooms > 0);
}

/**
 * May a retried item run on `device` now? A suspect runs with nothing beside it on its replica
 * (`busy`: the replica holds work), and an item prefers a device it has not tried, while such a
 * device is live.
 */
export function mayRetryOn(history: ItemHistory, device: number, busy: boolean, liveDevices: ReadonlySet<number>): boolean {
  if (history.isolate && busy) return false;
  if (!history.devicesTried.has(device)) return true;
  return ![...liveDevices].some((other) => other !== device && !history.devicesTried.has(other));
}

function exhausted(index: number, history: ItemHistory, cause: Exhausted['cause'], count: number): Exhausted {
  return { index, cause, count, devicesTried: [...history.devicesTried], attempts: history.dispatches };
}

/** The item ran out of memory alone on `device`: 'retry', or the reason to give up. */
export function afterOutOfMemory(index: number, history: ItemHistory, device: number, retries: number): 'retry' | Exhausted {
  history.ooms += 1;
  history.devicesTried.add(device);
  return history.dispatches >= 1 + retries ? exhausted(index, history, 'out of memory', history.ooms) : 'retry';
}

/** The item was running when its replica on `device` was lost: 'retry' (alone), or give up. */
export function afterLoss(index: number, history: ItemHistory, device: number, cause: LossCause, retries: number): 'retry' | Exhausted {
  history.devicesTried.add(device);
  if (cause === 'timed out') {
    history.timeouts += 1;
    if (history.timeouts >= 1 + retries) return exhausted(index, history, 'timed out', history.timeouts);
  } else {
    if (cause === 'died') history.crashed = true;
    history.deaths += 1;
    if (history.deaths >= (history.crashed ? MAX_DEATHS_PER_ITEM : MAX_KILLS_PER_ITEM)) return exhausted(index, history, 'died', history.deaths);
  }
  history.isolate = true;
  return 'retry';
}
