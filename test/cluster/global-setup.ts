/**
 * Vitest global setup of the cluster tests: they need a cluster that is up (npm run test:cluster
 * sets it up first); without one, every test file would fail on its own, so fail once, saying
 * what to run.
 */
import { cluster } from './cluster.js';

export default function requireCluster(): void {
  cluster();
}
