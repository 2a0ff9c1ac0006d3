/**
 * What the README promises a script, through the real CLI: teardown is called, the CPU threads
 * are split between replicas, NaN and infinities become null, bfloat16 arrives bit for bit, and
 * the script's own prints are shown with --verbose only.
 */
import { readFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { expectNoSurvivors, itemsFile } from '../helpers/checks.js';
import { fixture, logLines, readOutput, runCli, scratchDir, type CliResult, type OutputLine } from '../helpers/cli.js';

interface Reported {
  pid: number;
  torch_threads: number;
  omp_threads: string | null;
  mkl_threads: string | null;
  nan: unknown;
  inf: unknown;
  minus_inf: unknown;
  list: unknown[];
  nan_array: { __ndarray__: { dtype: string; shape: number[]; file: string; offset: number } };
  bf16: { __ndarray__: { dtype: string; shape: number[]; file: string; offset: number } };
}

async function contractRun(gpus: string, replicas: number, extra: string[] = []) {
  const dir = scratchDir();
  const log = path.join(dir, 'replicas.log');
  const output = path.join(dir, 'out.jsonl');
  const result = await runCli(['--script', fixture('contract.py'), '--inputs', itemsFile(dir, 24), '--output', output, '--gpus', gpus, '--workers-per-gpu', String(replicas), '--batch-size', '2', '--opt', `log=${log}`, ...extra]);
  expect(result.exitCode, result.stderr).toBe(0);
  return { dir, result, log: logLines(log), lines: readOutput(output) };
}

/** The threads each replica should get: the cores split between the run's replicas, at least one. */
function threadsFor(replicas: number): number {
  return Math.max(1, Math.floor(availableParallelism() / replicas));
}

// Three replicas on one device: more replicas than this machine's two cores, so "at least one" counts.
describe('a run of three replicas on cpu:1, as the script sees it', () => {
  let run: { dir: string; result: CliResult; log: string[]; lines: OutputLine[] };
  beforeAll(async () => {
    run = await contractRun('cpu:1', 3);
  });
  const reported = () => run.lines.map((line) => line.result as Reported);

  it('teardown(model) is called once in each replica, at the end', async () => {
    const ready = run.log.filter((line) => line.startsWith('ready ')).map((line) => line.split(' ')[1]);
    const tornDown = run.log.filter((line) => line.startsWith('teardown ')).map((line) => line.split(' ')[1]);
    expect(ready).toHaveLength(3);
    expect(tornDown.sort()).toEqual(ready.sort());
    await expectNoSurvivors(run.result.marker);
  });

  it('each replica gets cores / replicas CPU threads, at least one: torch, OMP_NUM_THREADS and MKL_NUM_THREADS alike', () => {
    const expected = threadsFor(3);
    for (const result of reported()) {
      expect({ torch: result.torch_threads, omp: result.omp_threads, mkl: result.mkl_threads }).toEqual({ torch: expected, omp: String(expected), mkl: String(expected) });
    }
  });

  it('NaN and infinities become null in the JSON line; inside an array they are kept', () => {
    for (const line of run.lines) {
      const result = line.result as Reported;
      expect([result.nan, result.inf, result.minus_inf, result.list]).toEqual([null, null, null, [1.5, null]]);
      const ref = result.nan_array.__ndarray__;
      expect(ref).toMatchObject({ dtype: 'float32', shape: [3], file: 'out.arrays' });
      const bytes = readFileSync(path.join(run.dir, ref.file)).subarray(ref.offset, ref.offset + 12);
      expect(Array.from(new Float32Array(new Uint8Array(bytes).buffer))).toEqual([Number.NaN, Number.POSITIVE_INFINITY, 1]);
    }
  });

  it('a bfloat16 tensor reaches the output with its dtype, its shape and its exact bits', () => {
    // bfloat16 is the upper half of a float32: 1.5 -> 0x3fc0, -2.0 -> 0xc000, small integers exactly.
    const bfloat16 = (value: number) => (new Uint32Array(new Float32Array([value]).buffer)[0] as number) >>> 16;
    for (const line of run.lines) {
      const ref = (line.result as Reported).bf16.__ndarray__;
      expect(ref).toMatchObject({ dtype: 'bfloat16', shape: [3], file: 'out.arrays' });
      const bytes = readFileSync(path.join(run.dir, ref.file)).subarray(ref.offset, ref.offset + 6);
      const words = Array.from(new Uint16Array(new Uint8Array(bytes).buffer));
      expect(words).toEqual([0x3fc0, 0xc000, bfloat16((line.input as { value: number }).value)]);
    }
  });

  it("the script's own prints are not shown without --verbose", () => {
    expect(run.result.stderr).not.toMatch(/script says/);
  });
});

describe('one replica on one device, with --verbose', () => {
  let run: { dir: string; result: CliResult; log: string[]; lines: OutputLine[] };
  beforeAll(async () => {
    run = await contractRun('cpu:1', 1, ['--verbose']);
  });

  it('the replica gets every core as its CPU threads', async () => {
    for (const line of run.lines) {
      const result = line.result as Reported;
      expect({ torch: result.torch_threads, omp: result.omp_threads }).toEqual({ torch: threadsFor(1), omp: String(threadsFor(1)) });
    }
    await expectNoSurvivors(run.result.marker);
  });

  it("--verbose shows the script's own prints, stdout and stderr, each with its device", () => {
    expect(run.result.stderr).toMatch(/^\[cpu:0\] script says: setup on cpu:0 replica 0$/m);
    expect(run.result.stderr).toMatch(/^\[cpu:0\] script says: infer of \d item\(s\)$/m);
  });
});
