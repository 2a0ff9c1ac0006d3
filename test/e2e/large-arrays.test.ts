/**
 * Large arrays (64 KiB and more) travel as ZeroMQ frames of their own, sent from the replica's
 * memory and written to the .arrays file from the frame received: what a user reads back is what
 * the script returned, laid out as for small arrays, and `compare` agrees across batch sizes.
 */
import { statSync } from 'node:fs';
import path from 'node:path';
import { execa } from 'execa';
import { describe, expect, it } from 'vitest';
import { pythonEnv } from '../../src/workers/python.js';
import { expectEachIdOnce, expectNoSurvivors, itemsFile } from '../helpers/checks.js';
import { BIN, PYTHON, fixture, runCli, scratchDir } from '../helpers/cli.js';

const BYTES = 100_000; // above the 64 KiB from which an array goes as a frame

describe('large arrays', () => {
  it('each item its own array, as returned, at 64-byte aligned offsets; another batch size gives an output that compare finds equal', async () => {
    const dir = scratchDir();
    const inputs = itemsFile(dir, 40);
    const outputs = [path.join(dir, 'a.jsonl'), path.join(dir, 'b.jsonl')];
    for (const [output, gpus, batch] of [[outputs[0] as string, 'cpu:2', '4'], [outputs[1] as string, 'cpu:1', '1']] as const) {
      const result = await runCli(['--script', fixture('arrays_of.py'), '--inputs', inputs, '--output', output, '--gpus', gpus, '--batch-size', batch, '--opt', `bytes=${BYTES}`]);
      expect(result.exitCode, result.stderr).toBe(0);
      await expectNoSurvivors(result.marker);
    }
    const lines = expectEachIdOnce(outputs[0] as string, 40);
    const refs = lines.map((line) => (line.result as { embedding: { __ndarray__: { dtype: string; shape: number[]; offset: number } } }).embedding.__ndarray__);
    expect(refs.every((ref) => ref.dtype === 'uint8' && ref.shape[0] === BYTES && ref.offset % 64 === 0)).toBe(true);
    expect(statSync(path.join(dir, 'a.arrays')).size).toBeGreaterThanOrEqual(40 * BYTES);
    // Read back as the README shows: every array holds its item's value, whole.
    const check = `
import sys
from gpu_orchestrate_worker import read_output
count = 0
for line in read_output(sys.argv[1]):
    array = line["result"]["embedding"]
    assert array.shape == (${BYTES},) and (array == line["input"]["value"] % 256).all(), line["id"]
    count += 1
print(count, "checked")
`;
    const verify = await execa(PYTHON, ['-c', check, outputs[0] as string], { env: pythonEnv(), reject: false });
    expect(verify.stderr).toBe('');
    expect(verify.stdout.trim()).toBe('40 checked');
    const compared = await execa(process.execPath, [BIN, 'compare', outputs[0] as string, outputs[1] as string], { reject: false });
    expect(compared.exitCode, compared.stdout + compared.stderr).toBe(0);
  });
});
