/**
 * The README's readers of an output, run as printed (only the output's path and the package's
 * folder put in), from a folder other than the output's, against the output of a real run: so
 * the snippets cannot rot.
 */
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ROOT, fixture, jsonlItems, runCli, scratchDir } from '../helpers/cli.js';

/** The indented code block that follows the first README line containing `marker`, dedented. */
function readmeSnippet(marker: string): string {
  const lines = readFileSync(path.join(ROOT, 'README.md'), 'utf8').split('\n');
  let at = lines.findIndex((line) => line.includes(marker));
  if (at < 0) throw new Error(`README.md has no line with ${JSON.stringify(marker)}`);
  at += 1;
  while (lines[at]?.trim() === '') at += 1;
  const block: string[] = [];
  for (; at < lines.length && (lines[at]?.startsWith('    ') || lines[at]?.trim() === ''); at += 1) block.push((lines[at] ?? '').slice(4));
  return block.join('\n').trimEnd();
}

/** `literal` replaced by `value`; a README that no longer has the literal fails here, not later. */
function put(snippet: string, literal: string, value: string): string {
  expect(snippet, `the README snippet should contain ${literal}`).toContain(literal);
  return snippet.split(literal).join(value);
}

// After the snippet: the last embedding it read, for the test to check.
const REPORT = '\nimport json as _json\nprint(_json.dumps({"values": embedding.tolist(), "dtype": str(embedding.dtype)}))\n';

describe("the README's output readers", () => {
  let dir = '';
  let output = '';
  let elsewhere = '';
  beforeAll(async () => {
    dir = scratchDir('go-readme-');
    elsewhere = scratchDir('go-readme-cwd-');
    const inputs = path.join(dir, 'items.jsonl');
    writeFileSync(inputs, jsonlItems(12));
    output = path.join(dir, 'results.jsonl');
    const result = await runCli(['--script', fixture('embeds.py'), '--inputs', inputs, '--output', output, '--gpus', 'cpu:1', '--batch-size', '4', '--quiet']);
    expect(result.exitCode, result.stderr).toBe(1); // one item fails
  });
  afterAll(() => {
    rmSync(dir, { recursive: true, force: true });
    rmSync(elsewhere, { recursive: true, force: true });
  });

  /** Runs a snippet in another folder; returns the last embedding it read, checked against its item. */
  async function run(snippet: string): Promise<{ stdout: string }> {
    const result = await execa('python3', ['-c', snippet + REPORT], { cwd: elsewhere, reject: false, env: { PYTHONPATH: '' } });
    expect(result.stderr).toBe('');
    expect(result.exitCode).toBe(0);
    const lines = String(result.stdout).trim().split('\n');
    const last = JSON.parse(lines.at(-1) ?? '') as { values: number[][]; dtype: string };
    expect(last.dtype).toBe('float32');
    const value = Math.floor((last.values[0]?.[0] ?? -1) / 1000);
    expect(value).toBeGreaterThanOrEqual(0);
    expect(last.values).toEqual([[0, 1, 2], [3, 4, 5]].map((row) => row.map((offset) => 1000 * value + offset)));
    return { stdout: lines.slice(0, -1).join('\n') };
  }

  it('the numpy-only reader finds the arrays beside the output, from any folder', async () => {
    const snippet = put(readmeSnippet('or with numpy alone'), '"results.jsonl"', JSON.stringify(output));
    await run(snippet);
  });

  it('the read_output reader gives the arrays back and prints the failed item', async () => {
    let snippet = put(readmeSnippet('To load the output in Python'), '"results.jsonl"', JSON.stringify(output));
    snippet = put(snippet, '"path/to/gpu-orchestrate/python"', JSON.stringify(path.join(ROOT, 'python')));
    const { stdout } = await run(snippet);
    expect(stdout).toBe('item-3 cannot decode item item-3');
  });
});
