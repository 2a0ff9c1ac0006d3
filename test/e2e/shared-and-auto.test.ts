/** load_shared, --workers-per-gpu auto and device telemetry, through the real CLI on CPU devices. */
import { existsSync, writeFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { cpuCap } from '../../src/scheduler/replica-plan.js';
import { fixture, jsonlItems, readOutput, runCli, scratchDir, survivors } from '../helpers/cli.js';

interface Mapping {
  device: string;
  inode: number;
  path: string;
}

interface StoreResult {
  pid: number;
  table: Mapping | null;
  ids: Mapping | null;
  ids_type: string;
  meta: { size: number; name: string };
  seen_pids: number[];
  value: number;
  id_value: number;
}

describe('load_shared: one store per device host, shared by its replicas', () => {
  it('the replicas of a host map the same shared memory and see each other\'s writes; each host has its own', async () => {
    const dir = scratchDir();
    const inputs = path.join(dir, 'items.jsonl');
    writeFileSync(inputs, jsonlItems(160, (index) => ({ id: `k-${index}`, k: index * 7 })));
    const output = path.join(dir, 'out.jsonl');
    const result = await runCli(['--script', fixture('shared_store.py'), '--inputs', inputs, '--output', output, '--gpus', 'cpu:2', '--workers-per-gpu', '2', '--batch-size', '4', '--opt', 'replicas=2', '--opt', 'delay=0.03']);
    expect(result.stderr).not.toMatch(/warning|error/i);
    expect(result.exitCode).toBe(0);
    const lines = readOutput(output);
    expect(lines).toHaveLength(160);
    for (const line of lines) {
      const store = line.result as StoreResult;
      const k = (line.input as { k: number }).k;
      expect(store.value).toBe(k * 2);
      expect(store.id_value).toBe(k + 1000);
      expect(store.ids_type).toBe('ndarray'); // numpy in, numpy out
      expect(store.meta).toEqual({ size: 4096, name: 'store' });
    }
    for (const device of ['cpu:0', 'cpu:1']) {
      const results = lines.filter((line) => line.device === device).map((line) => line.result as StoreResult);
      const pids = [...new Set(results.map((store) => store.pid))].sort();
      expect(pids, `${device} should have run on both its replicas`).toHaveLength(2);
      for (const key of ['table', 'ids'] as const) {
        // One file-backed shared mapping (torch's shared memory), the same in both replicas: a
        // per-replica copy would be anonymous memory (inode 0) or a different file.
        const mappings = new Set(results.map((store) => JSON.stringify(store[key])));
        expect(mappings.size, `${device} ${key}: ${[...mappings].join(' vs ')}`).toBe(1);
        const mapping = results[0]?.[key] as Mapping;
        expect(mapping.inode).toBeGreaterThan(0);
        expect(mapping.path).toMatch(/torch_|memfd/);
      }
      // What one replica wrote, the other read: the slots hold both replicas' pids.
      for (const store of results) expect([...store.seen_pids].sort()).toEqual(pids);
    }
    const inode = (device: string) => (lines.find((line) => line.device === device)?.result as StoreResult).table?.inode;
    expect(inode('cpu:0')).not.toBe(inode('cpu:1'));
    expect(survivors(result.marker)).toEqual([]);
  });

  it('a load_shared that raises stops the run before any item, naming the file and the cause (exit 3)', async () => {
    const dir = scratchDir();
    const inputs = path.join(dir, 'items.jsonl');
    writeFileSync(inputs, jsonlItems(10));
    const output = path.join(dir, 'out.jsonl');
    const result = await runCli(['--script', fixture('shared_fails.py'), '--inputs', inputs, '--output', output, '--gpus', 'cpu:2', '--opt', 'store=/data/features']);
    expect(result.exitCode).toBe(3);
    expect(result.stderr).toMatch(/shared_fails\.py: load_shared\(\) raised FileNotFoundError: features\.h5 not found in \/data\/features \(on cpu:[01]\); nothing ran\./);
    expect(result.stderr).toMatch(/Traceback[\s\S]*shared_fails\.py/);
    expect(result.stderr).not.toMatch(/cpu:\d done\b/); // no device's state claims it finished
    expect(result.stderr).toMatch(/cpu:\d stopped · 0 done/);
    expect(existsSync(output) ? readOutput(output) : []).toEqual([]);
    expect(survivors(result.marker)).toEqual([]);
  });
});

describe('--workers-per-gpu auto', () => {
  it('on a CPU device, the fixed rule: one replica, said in the summary; the summary shows peak memory', async () => {
    const dir = scratchDir();
    const inputs = path.join(dir, 'items.jsonl');
    writeFileSync(inputs, jsonlItems(40));
    const output = path.join(dir, 'out.jsonl');
    const result = await runCli(['--script', fixture('echo.py'), '--inputs', inputs, '--output', output, '--gpus', 'cpu:2', '--workers-per-gpu', 'auto', '--opt', 'delay=0.05']);
    expect(result.exitCode).toBe(0);
    const lines = readOutput(output);
    expect(lines).toHaveLength(40);
    expect(new Set(lines.map((line) => line.replica))).toEqual(new Set([0]));
    expect(result.stderr).toMatch(/cpu:0: auto 1 replica: CPU device \(fixed rule/);
    // Telemetry reached the summary: a peak PSS in MiB or GiB for each device.
    expect(result.stderr).toMatch(/peak mem/);
    expect(result.stderr).toMatch(/^cpu:0\s.*\s\d+(\.\d)? (MiB|GiB)$/m);
    expect(result.stderr).toMatch(/^cpu:1\s.*\s\d+(\.\d)? (MiB|GiB)$/m);
  });

  it('measured (as on a GPU): grows while throughput grows, stops at the CPU cap or when a replica adds under 10%', async () => {
    // The simulated device runs two batches at once: a third replica adds nothing.
    const dir = scratchDir();
    const inputs = path.join(dir, 'items.jsonl');
    writeFileSync(inputs, jsonlItems(1500));
    const output = path.join(dir, 'out.jsonl');
    const result = await runCli(['--script', fixture('two_lane_device.py'), '--inputs', inputs, '--output', output, '--gpus', 'cpu:1', '--workers-per-gpu', 'auto', '--batch-size', '2', '--opt', `lanes=${dir}`], { env: { GPU_ORCHESTRATE_AUTO_MEASURE_CPU: '1' } });
    expect(result.exitCode).toBe(0);
    const lines = readOutput(output);
    expect(lines).toHaveLength(1500);
    const cap = cpuCap(availableParallelism(), 1);
    const expected = Math.min(cap, 3);
    expect(new Set(lines.map((line) => line.replica))).toEqual(new Set(Array.from({ length: expected }, (_, replica) => replica)));
    const decision = /cpu:0: auto (\d+) replica\(s\) \(([^)]*)\); stopped \((\w+)\): (.*)/.exec(result.stderr);
    expect(decision, result.stderr).not.toBeNull();
    const [, count, measured, bound] = decision as RegExpExecArray;
    expect(Number(count)).toBe(expected);
    const rates = [...(measured as string).matchAll(/(\d+): ([\d.]+)\/s/g)].map((match) => Number(match[2]));
    expect(rates).toHaveLength(expected);
    expect(rates[1] as number).toBeGreaterThan((rates[0] as number) * 1.5); // a second lane: about twice as fast
    expect(bound).toBe(cap >= 3 ? 'throughput' : 'cpu');
    expect(survivors(result.marker)).toEqual([]);
  });

  it('measured: stops at one replica when another would leave less free memory than --memory-headroom', async () => {
    const dir = scratchDir();
    const inputs = path.join(dir, 'items.jsonl');
    writeFileSync(inputs, jsonlItems(600));
    const output = path.join(dir, 'out.jsonl');
    const result = await runCli(['--script', fixture('two_lane_device.py'), '--inputs', inputs, '--output', output, '--gpus', 'cpu:1', '--workers-per-gpu', 'auto', '--memory-headroom', '100000GiB', '--batch-size', '2', '--opt', `lanes=${dir}`], { env: { GPU_ORCHESTRATE_AUTO_MEASURE_CPU: '1' } });
    expect(result.exitCode).toBe(0);
    expect(readOutput(output)).toHaveLength(600);
    expect(result.stderr).toMatch(/cpu:0: auto 1 replica\(s\) \(1: [\d.]+\/s\); stopped \(memory\): another replica \(~\d+(\.\d)? (MiB|GiB) each\) would leave [\d.]+ GiB free, under the 100000\.0 GiB headroom/);
  });
});
