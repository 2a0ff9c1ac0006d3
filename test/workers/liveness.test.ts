import { describe, expect, it } from 'vitest';
import { HEARTBEAT_TIMEOUT_MS, HostLiveness } from '../../src/workers/liveness.js';

const all = () => true;

describe("a host's liveness, by its heartbeats", () => {
  it('a new host has its start-up allowance; after its first heartbeat, the timeout counts from the last one', () => {
    const liveness = new HostLiveness();
    liveness.started(0, 0, 0, 60_000);
    expect(liveness.silent(HEARTBEAT_TIMEOUT_MS + 1, all)).toEqual([]); // still importing torch
    expect(liveness.hasCheckedIn(0)).toBe(false);
    expect(liveness.heard(0, 0, 5_000)).toBe(true);
    expect(liveness.hasCheckedIn(0)).toBe(true);
    expect(liveness.silent(5_000 + HEARTBEAT_TIMEOUT_MS, all)).toEqual([]);
    expect(liveness.silent(5_001 + HEARTBEAT_TIMEOUT_MS, all)).toEqual([0]);
    expect(liveness.silent(5_001 + HEARTBEAT_TIMEOUT_MS, () => false)).toEqual([]); // a device out of the run is not watched
  });

  it("a replaced host's heartbeats do not count for the new one; a silenced host is not reported again before another timeout", () => {
    const liveness = new HostLiveness();
    liveness.started(3, 0, 0, 0);
    liveness.started(3, 1, 1_000, 0);
    expect(liveness.heard(3, 0, 2_000)).toBe(false);
    expect(liveness.silent(1_001 + HEARTBEAT_TIMEOUT_MS, all)).toEqual([3]);
    liveness.silenced(3, 1_001 + HEARTBEAT_TIMEOUT_MS);
    expect(liveness.silent(2_000 + HEARTBEAT_TIMEOUT_MS, all)).toEqual([]);
    expect(liveness.wasSilenced(3, 1)).toBe(true);
    expect(liveness.wasSilenced(3, 0)).toBe(false);
    liveness.started(3, 2, 5_000_000, 0);
    expect(liveness.wasSilenced(3, 2)).toBe(false);
  });
});
