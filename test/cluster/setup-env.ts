/**
 * Vitest setup file of the cluster tests (vitest.cluster.config.ts): srun, sinfo and ssh, and
 * whatever the tests start (the CLI, which calls srun or ssh itself), reach the test cluster.
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import { execa } from 'execa';
import { afterEach } from 'vitest';
import { CLUSTER_DIR, clusterEnv } from './cluster.js';
import { TEST_JOB_NAME } from './runs.js';

if (existsSync(path.join(CLUSTER_DIR, 'cluster.json'))) Object.assign(process.env, clusterEnv());

// A test killed with its salloc leaves the allocation behind, holding the nodes' CPUs: cancel the
// tests' jobs after each test (files take turns on the cluster, so none is another test's).
afterEach(async () => {
  if (existsSync(path.join(CLUSTER_DIR, 'cluster.json'))) await execa('scancel', ['--name', TEST_JOB_NAME], { env: clusterEnv(), reject: false });
});
