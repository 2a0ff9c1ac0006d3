/**
 * Vitest setup file of the cluster tests (vitest.cluster.config.ts): srun, sinfo and ssh, and
 * whatever the tests start (the CLI, which calls srun or ssh itself), reach the test cluster.
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import { CLUSTER_DIR, clusterEnv } from './cluster.js';

if (existsSync(path.join(CLUSTER_DIR, 'cluster.json'))) Object.assign(process.env, clusterEnv());
