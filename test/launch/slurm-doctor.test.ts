import { describe, expect, it } from 'vitest';
import { formatDoctorTable, nodeProblem, type NodeReport } from '../../src/launch/slurm-doctor.js';

const ready: NodeReport = {
  node: 'node7', python: '/usr/bin/python3', version: '3.11.2',
  packages: { torch: { ok: true, version: '2.3.0' }, pyzmq: { ok: true, version: '26.0' }, msgpack: { ok: true, version: '1.0' }, numpy: { ok: true, version: '1.26' } },
  torch: { version: '2.3.0', cuda_build: '12.1', cuda_available: true, gpus: [{}, {}, {}, {}] },
  package_version: '0.1.0', script: { path: '/shared/detect.py', readable: true },
};

describe('doctor --launcher slurm', () => {
  it('prints one row per node, and says why a node is not ready', () => {
    const rows = [
      { node: 'node7', report: ready },
      { node: 'node8', report: { ...ready, node: 'node8', script: { path: '/home/me/detect.py', readable: false } } },
      { node: 'node9', failure: 'srun exited with code 1: srun: error: Unable to create step for job 12' },
      { node: 'node10', report: { ...ready, node: 'node10', package_version: '0.0.9' } },
    ];
    const table = formatDoctorTable(rows, '0.1.0').trimEnd().split('\n');
    expect(table[0]).toMatch(/^node\s+python\s+torch\s+CUDA\s+GPUs\s+gpu-orchestrate\s+script\s+ready$/);
    expect(table[1]).toMatch(/^node7\s+3\.11\.2\s+2\.3\.0\s+12\.1\s+4\s+0\.1\.0\s+readable\s+yes$/);
    expect(table[2]).toMatch(/^node8 .*NOT READABLE\s+no: cannot read \/home\/me\/detect\.py: put it on a filesystem every node shares$/);
    expect(table[3]).toMatch(/^node9\s+-.*no: srun exited with code 1: srun: error: Unable to create step/);
    expect(table[4]).toMatch(/no: gpu-orchestrate 0\.0\.9 there, 0\.1\.0 here: install the same version$/);
    expect(nodeProblem({ node: 'x', report: { ...ready, torch: { error: 'ImportError: libcudart' } } }, '0.1.0')).toBe('torch cannot be imported');
  });
});
