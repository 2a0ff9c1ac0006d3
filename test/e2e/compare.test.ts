/**
 * `gpu-orchestrate compare` on outputs of real runs (embeds.py: a float32 array per item, one
 * failed item), and on copies of them changed as a model's drift or a broken run would change
 * them: each difference exits 1 and names the item; agreement exits 0; bad input exits 2.
 */
import { copyFileSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { openSync, writeSync, closeSync } from 'node:fs';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { fixture, jsonlItems, readOutput, runCli, scratchDir } from '../helpers/cli.js';

let dir = '';
/** One run on two devices, batches of 2. */
let twoDevices = '';
/** The same items on one device, batches of 4: the reference. */
let reference = '';

function run(output: string, gpus: string, batchSize: string, delay: string) {
  return runCli(['--script', fixture('embeds.py'), '--inputs', path.join(dir, 'items.jsonl'), '--output', output, '--gpus', gpus, '--batch-size', batchSize, '--opt', `delay=${delay}`, '--quiet']);
}

/** A copy of the reference (its .jsonl and .arrays, same names) in a folder of its own, its lines changed by `edit`. */
function changedCopy(name: string, edit: (lines: Record<string, unknown>[]) => Record<string, unknown>[]): string {
  const folder = path.join(dir, name);
  mkdirSync(folder);
  copyFileSync(path.join(dir, 'ref', 'ref.arrays'), path.join(folder, 'ref.arrays'));
  const lines = readFileSync(reference, 'utf8').split('\n').filter(Boolean).map((line) => JSON.parse(line) as Record<string, unknown>);
  const file = path.join(folder, 'ref.jsonl');
  writeFileSync(file, edit(lines).map((line) => JSON.stringify(line)).join('\n') + '\n');
  return file;
}

/** Adds `delta` to element [row, column] of item `id`'s embedding, in the copy's .arrays file. */
function perturb(file: string, id: string, row: number, column: number, delta: number): void {
  const line = readOutput(file).find((candidate) => candidate.id === id);
  const ref = (line?.result as { embedding: { __ndarray__: { offset: number; shape: number[] } } }).embedding.__ndarray__;
  const at = ref.offset + 4 * (row * (ref.shape[1] as number) + column);
  const arrays = path.join(path.dirname(file), 'ref.arrays');
  const bytes = readFileSync(arrays);
  const value = Buffer.alloc(4);
  value.writeFloatLE(bytes.readFloatLE(at) + delta);
  const fd = openSync(arrays, 'r+');
  writeSync(fd, value, 0, 4, at);
  closeSync(fd);
}

const compare = (...args: string[]) => runCli(['compare', ...args]);

beforeAll(async () => {
  dir = scratchDir('go-compare-');
  writeFileSync(path.join(dir, 'items.jsonl'), jsonlItems(12));
  mkdirSync(path.join(dir, 'ref'));
  twoDevices = path.join(dir, 'two.jsonl');
  reference = path.join(dir, 'ref', 'ref.jsonl');
  // Half a second per item on two devices: the second device to start still finds work.
  const [a, b] = [await run(twoDevices, 'cpu:2', '2', '0.5'), await run(reference, 'cpu:1', '4', '0')];
  expect([a.exitCode, b.exitCode], a.stderr + b.stderr).toEqual([1, 1]); // item-3 fails in both
  return () => rmSync(dir, { recursive: true, force: true });
});

describe('gpu-orchestrate compare', () => {
  it('outputs written by different devices and in different orders agree', async () => {
    expect(new Set(readOutput(twoDevices).map((line) => line.device))).toEqual(new Set(['cpu:0', 'cpu:1']));
    expect(new Set(readOutput(reference).map((line) => line.device))).toEqual(new Set(['cpu:0']));
    const reversed = changedCopy('reversed', (lines) => lines.reverse());
    for (const output of [twoDevices, reversed, reference]) {
      const result = await compare(output, reference);
      expect(result.exitCode, result.stdout + result.stderr).toBe(0);
      expect(result.stdout).toMatch(/^agree: 12 item\(s\) of .*ref\.jsonl match .*, 11 array\(s\) compared \(rtol=0\.00001, atol=1e-8; ignored: device, replica, attempts, duration, error\.traceback\)$/);
    }
  });

  it('an array element out of tolerance: exit 1, the item, the element, expected, got and the errors', async () => {
    const drifted = changedCopy('drifted', (lines) => lines);
    perturb(drifted, 'item-5', 1, 2, 1.0); // 5005 -> 5006: beyond rtol 1e-5 (0.05 here)
    const result = await compare(drifted, reference);
    expect(result.exitCode, result.stderr).toBe(1);
    const [header, row, verdict] = result.stdout.trimEnd().split('\n');
    expect(header).toMatch(/^id\s+field\s+expected\s+got\s+max abs err\s+max rel err$/);
    expect(row?.split(/\s{2,}/)).toEqual(['item-5', 'result.embedding[1, 2]', '5005', '5006', '1.00e+0', '2.00e-4']);
    expect(verdict).toMatch(/^differ: 1 item\(s\) differ \(0 missing, 0 extra, 1 changed\) of the 12 in .*ref\.jsonl/);
  });

  it('a perturbation within tolerance agrees; --atol and --rtol set the tolerance as numpy.allclose', async () => {
    const nudged = changedCopy('nudged', (lines) => lines);
    perturb(nudged, 'item-5', 0, 0, 0.01); // 5000 -> 5000.01
    expect((await compare(nudged, reference)).exitCode).toBe(0); // 0.01 <= 1e-8 + 1e-5 * 5000
    expect((await compare(nudged, reference, '--rtol', '0', '--atol', '1e-3')).exitCode).toBe(1);
    expect((await compare(nudged, reference, '--rtol', '0', '--atol', '0.02')).exitCode).toBe(0);
    // --ignore leaves a field out altogether.
    expect((await compare(nudged, reference, '--rtol', '0', '--atol', '0', '--ignore', 'result.embedding')).exitCode).toBe(0);
  });

  it.each([
    ['a missing id', (lines: Record<string, unknown>[]) => lines.filter((line) => line.id !== 'item-8'), /^item-8\s+\(item\)\s+present \(ok\)\s+missing$/m, /1 missing, 0 extra, 0 changed/],
    ['an extra id', (lines: Record<string, unknown>[]) => [...lines, { ...lines[0], id: 'item-99' }], /^item-99\s+\(item\)\s+absent\s+present \(ok: \{"embedding"/m, /0 missing, 1 extra, 0 changed/],
    ['an ok item turned failed', (lines: Record<string, unknown>[]) => lines.map((line) => (line.id === 'item-2' ? { id: 'item-2', input: line.input, ok: false, error: { type: 'RuntimeError', message: 'CUDA error', traceback: '' }, device: 'cpu:0', replica: 0, attempts: 1, duration: 0 } : line)), /^item-2\s+ok\s+ok\s+failed \(RuntimeError: CUDA error\)$/m, /0 missing, 0 extra, 1 changed/],
  ])('%s: exit 1, the item named', async (what, edit, row, counts) => {
    const changed = changedCopy(what.replace(/\W+/g, '-'), edit);
    const result = await compare(changed, reference);
    expect(result.exitCode, result.stderr).toBe(1);
    expect(result.stdout).toMatch(row);
    expect(result.stdout).toMatch(counts);
  });

  it('bad input exits 2 and says what: a file that cannot be read, an array file missing, a line that is not JSON', async () => {
    const missing = await compare(path.join(dir, 'nope.jsonl'), reference);
    expect(missing.exitCode).toBe(2);
    expect(missing.stderr).toMatch(/OUTPUT .*nope\.jsonl cannot be read \(ENOENT\)/);

    const noArrays = changedCopy('no-arrays', (lines) => lines);
    rmSync(path.join(path.dirname(noArrays), 'ref.arrays'));
    const result = await compare(noArrays, reference);
    expect(result.exitCode).toBe(2);
    expect(result.stderr).toMatch(/item "item-\d+", result\.embedding \(OUTPUT\): the array file .*no-arrays\/ref\.arrays of .* cannot be read \(ENOENT\)/);

    const torn = changedCopy('torn', (lines) => lines);
    writeFileSync(torn, readFileSync(torn, 'utf8') + '{"id": "item-12", "ok": tr');
    const tornResult = await compare(torn, reference);
    expect(tornResult.exitCode).toBe(2);
    expect(tornResult.stderr).toMatch(/OUTPUT .*torn\/ref\.jsonl, line 13: not JSON/);

    const badTolerance = await compare(reference, reference, '--atol', 'tiny');
    expect(badTolerance.exitCode).toBe(2);
    expect(badTolerance.stderr).toMatch(/--atol "tiny": expected a number of 0 or more/);
    const oneFile = await compare(reference);
    expect(oneFile.exitCode).toBe(2);
    expect(oneFile.stderr).toMatch(/missing required argument 'reference'/);
  });
});
