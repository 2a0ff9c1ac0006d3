/**
 * Vitest global setup (vitest.config.ts: globalSetup): the end-to-end tests run the built CLI in
 * dist/, so build it from src/ once before any test runs. `npx vitest run test/e2e` then never
 * tests a stale dist/.
 */
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { execa } from 'execa';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

export default async function build(): Promise<void> {
  const result = await execa(path.join(ROOT, 'node_modules/.bin/tsc'), ['-p', 'tsconfig.json'], { cwd: ROOT, reject: false, all: true });
  if (result.exitCode !== 0) {
    throw new Error(`the TypeScript build (tsc -p tsconfig.json) failed, so the end-to-end tests cannot run dist/; fix these errors:\n${result.all}`);
  }
}
