/**
 * The multi-node tests (`npm run test:cluster`, test/cluster/run.sh): they run on the Slurm
 * cluster that test/cluster/cluster.sh sets up on this machine, so `npm test` leaves them out
 * (vitest.config.ts excludes test/cluster/). Two phases: the tests, while the cluster is up; then
 * (GPO_CLUSTER_PHASE=teardown) the one that tears it down and checks nothing is left.
 */
import { defineConfig } from 'vitest/config';

const teardownPhase = process.env.GPO_CLUSTER_PHASE === 'teardown';

export default defineConfig({
  test: {
    include: teardownPhase ? ['test/cluster/teardown.phase.ts'] : ['test/cluster/**/*.test.ts'],
    // The teardown phase runs no CLI: no build, and no cluster required before it starts.
    globalSetup: teardownPhase ? [] : ['test/helpers/build.ts', 'test/cluster/global-setup.ts'],
    setupFiles: ['test/helpers/cleanup.ts', 'test/cluster/setup-env.ts'],
    // One cluster for every file: files take turns on it.
    fileParallelism: false,
    testTimeout: 180_000,
    hookTimeout: 120_000,
  },
});
