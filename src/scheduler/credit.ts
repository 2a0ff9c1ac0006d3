/**
 * Credit: how many batches a replica may hold at once (one running, the rest waiting).
 *
 * `--prefetch` of them, so that a device never waits for its next batch. A batch that finishes
 * in a few microseconds (a no-op or a tiny model) needs more: the next one must be there before a
 * round trip to the controller ends, and every message costs both processes more than such a
 * batch does (BENCHMARKS.md). So a replica may hold as many batches as fit in FAST_WORK_SECONDS
 * of its measured pace, up to MAX_CREDIT: the controller sends them in one message, and the
 * replica returns their results in one (python/gpu_orchestrate_worker/results.py). A batch that
 * takes a millisecond or more keeps `--prefetch`, and nothing changes for it.
 *
 * The pace is the replica's own measurement, sent with each result (`busy`: from taking the batch
 * to its result encoded, waits for preprocess included). The slowest of the last batch and the
 * running average counts, so one slow batch takes the extra credit away at once and it comes back
 * slowly.
 */

/** Work a replica may hold beyond --prefetch, at its measured pace. */
export const FAST_WORK_SECONDS = 0.002;
/** The most batches a replica may hold, however fast. */
export const MAX_CREDIT = 128;
/** Weight of the newest batch in the running average. */
const SMOOTHING = 0.2;

/** A replica's pace, as the scheduler keeps it. */
export interface Pace {
  /** Running average of busy seconds per batch. */
  average: number;
  /** The last batch's busy seconds. */
  last: number;
}

export function measure(previous: Pace | undefined, busySeconds: number): Pace {
  return { average: previous === undefined ? busySeconds : previous.average + SMOOTHING * (busySeconds - previous.average), last: busySeconds };
}

/** Batches a replica may hold: `prefetch`, or more at a fast pace (never more than MAX_CREDIT). */
export function creditOf(prefetch: number, pace: Pace | undefined): number {
  if (pace === undefined) return prefetch;
  const perBatch = Math.max(pace.average, pace.last, 1e-6);
  return Math.max(prefetch, Math.min(MAX_CREDIT, Math.floor(FAST_WORK_SECONDS / perBatch)));
}
