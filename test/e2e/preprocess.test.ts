/** preprocess(item) in the user's script, through the real CLI. */
import { rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { fixture, jsonlItems, readOutput, runCli, scratchDir, survivors } from '../helpers/cli.js';

describe('a script with preprocess(item) or preprocess(item, ctx)', () => {
  it("gives infer what preprocess returned; an item whose preprocess raises fails alone, with its traceback", async () => {
    const dir = scratchDir();
    const inputs = path.join(dir, 'items.jsonl');
    writeFileSync(inputs, jsonlItems(40));
    const output = path.join(dir, 'out.jsonl');
    const result = await runCli(['--script', fixture('preprocessed.py'), '--inputs', inputs, '--output', output, '--gpus', 'cpu:2', '--batch-size', '4']);
    expect(result.exitCode).toBe(1);
    expect(result.stderr).toMatch(/8 item\(s\) failed/);
    const lines = readOutput(output);
    expect(lines).toHaveLength(40);
    for (const line of lines) {
      const value = (line.input as { value: number }).value;
      if (value % 5 === 0) {
        expect(line.ok).toBe(false);
        expect(line.error?.type).toBe('ValueError');
        expect(line.error?.message).toBe(`cannot decode item ${line.id}`);
        expect(line.error?.traceback).toMatch(/in preprocess\n/);
      } else {
        expect(line.ok).toBe(true);
        expect(line.result).toEqual({ decoded_plus_one: value * 10 + 1 });
      }
    }
    expect(survivors(result.marker)).toEqual([]);
  });

  it('preprocess(item, ctx) gets the same ctx as setup: the options, the device label and the replica', async () => {
    const dir = scratchDir();
    try {
      const inputs = path.join(dir, 'items.jsonl');
      writeFileSync(inputs, jsonlItems(24));
      const output = path.join(dir, 'out.jsonl');
      const result = await runCli(['--script', fixture('preprocess_with_ctx.py'), '--inputs', inputs, '--output', output, '--gpus', 'cpu:2', '--batch-size', '4', '--opt', 'scale=3']);
      expect(result.exitCode, result.stderr).toBe(0);
      const lines = readOutput(output);
      expect(lines).toHaveLength(24);
      for (const line of lines) {
        expect(line.ok).toBe(true);
        expect(line.result).toEqual({ scaled: (line.input as { value: number }).value * 3, device: line.device, replica: line.replica });
      }
      expect(survivors(result.marker)).toEqual([]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
