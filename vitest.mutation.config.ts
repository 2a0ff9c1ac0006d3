/**
 * Vitest as `npm run test:mutation` runs it (stryker.config.json names this file): the project's
 * config, plus a reporter that turns a test file that failed to load into a failed test.
 *
 * Why: Stryker's Vitest runner builds its result from the tests it finds. A mutant that makes a
 * module throw while it is imported (json-value.ts's `toString('hex')` made `toString('')`)
 * fails every test file that imports the module before any test is collected; with no test
 * failed, the mutant counted as survived (stryker-js#6150). The reporter runs before the runner
 * reads the results, so the runner sees one failed test per such file and counts the mutant killed.
 */
import type { RunnerTestCase, RunnerTestFile } from 'vitest';
import { defineConfig, mergeConfig } from 'vitest/config';
import type { Reporter } from 'vitest/reporters';
import project from './vitest.config.js';

const loadFailuresAsTests: Reporter = {
  onFinished(files: RunnerTestFile[] = []) {
    for (const file of files) {
      if (file.result?.state !== 'fail' || file.tasks.length > 0) continue;
      const failed: RunnerTestCase = {
        type: 'test',
        id: `${file.id}_load`,
        name: 'loads',
        mode: 'run',
        file,
        suite: file,
        meta: {},
        timeout: 0,
        annotations: [],
        context: undefined as unknown as RunnerTestCase['context'],
        result: { state: 'fail', errors: file.result.errors },
      };
      file.tasks.push(failed);
    }
  },
};

const config = mergeConfig(project, defineConfig({ test: { reporters: [loadFailuresAsTests] } }));
// Only unit tests run here (stryker.config.json keeps the rest out of the sandbox): no dist/ to
// build and no CLI runs to clean up, so the project's global setup and setup files are left out.
config.test = { ...config.test, globalSetup: [], setupFiles: [] };
export default config;
