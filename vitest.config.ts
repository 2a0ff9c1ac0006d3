import { configDefaults, defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // The multi-node tests need root and a Slurm cluster on this machine: npm run test:cluster.
    exclude: [...configDefaults.exclude, 'test/cluster/**'],
    // The end-to-end tests run dist/: build it from src/ first (also for `npx vitest run test/e2e`).
    globalSetup: ['test/helpers/build.ts'],
    // Every test's processes and folders are removed after it, passed, failed or timed out.
    setupFiles: ['test/helpers/cleanup.ts'],
    // End-to-end files start several Python processes each; on a 2-core machine they run one
    // file at a time so that start-up does not crowd out the runs themselves.
    fileParallelism: false,
    // A CLI run is killed (test/helpers/cli.ts) 15 s before its test (or hook) would time out.
    testTimeout: 120_000,
    hookTimeout: 120_000,
  },
});
