/** What the end-to-end tests check of a finished run: inputs made, output read back, nothing left running. */
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { expect } from 'vitest';
import { jsonlItems, readOutput, type OutputLine } from './cli.js';
import { waitGone } from './processes.js';

/** items.jsonl in `dir` with `count` items {"id": "item-N", "value": N}. */
export function itemsFile(dir: string, count: number): string {
  const file = path.join(dir, 'items.jsonl');
  writeFileSync(file, jsonlItems(count));
  return file;
}

export function expectEachIdOnce(output: string, count: number): OutputLine[] {
  const lines = readOutput(output);
  expect(lines).toHaveLength(count);
  expect(new Set(lines.map((line) => line.id))).toEqual(new Set(Array.from({ length: count }, (_, index) => `item-${index}`)));
  return lines;
}

/** No process of the run is left (children follow their parent's death within a few seconds). */
export async function expectNoSurvivors(marker: string): Promise<void> {
  expect(await waitGone(marker), 'host or replica processes outlived the run').toEqual([]);
}

/** The ids in a fixture log's lines of one kind ("start PID ID", "item PID ID"). */
export function loggedIds(lines: string[], kind: string): string[] {
  return lines.filter((line) => line.startsWith(`${kind} `)).map((line) => line.split(' ')[2] as string);
}
