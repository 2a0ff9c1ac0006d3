import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { samplePaths } from '../../src/doctor-nodes.js';
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
      { node: 'node11', report: { ...ready, node: 'node11', paths: [{ path: '/shared/a.png', readable: true }, { path: '/scratch/b.png', readable: false }] } },
      { node: 'node12', report: { ...ready, node: 'node12', paths: [{ path: '/shared/a.png', readable: true }] } },
    ];
    const table = formatDoctorTable(rows, '0.1.0').trimEnd().split('\n');
    expect(table[0]).toMatch(/^node\s+python\s+torch\s+CUDA\s+GPUs\s+gpu-orchestrate\s+script\s+inputs\s+ready$/);
    expect(table[1]).toMatch(/^node7\s+3\.11\.2\s+2\.3\.0\s+12\.1\s+4\s+0\.1\.0\s+readable\s+-\s+yes$/);
    expect(table[2]).toMatch(/^node8 .*NOT READABLE\s+-\s+no: cannot read \/home\/me\/detect\.py: put it on a filesystem every node shares$/);
    expect(table[3]).toMatch(/^node9\s+-.*no: srun exited with code 1: srun: error: Unable to create step/);
    expect(table[4]).toMatch(/no: gpu-orchestrate 0\.0\.9 there, 0\.1\.0 here: install the same version$/);
    expect(table[5]).toMatch(/^node11 .*readable\s+NOT READABLE \(1 of 2\)\s+no: cannot read the item \/scratch\/b\.png: put the inputs on a filesystem every node shares, under the same path$/);
    expect(table[6]).toMatch(/^node12 .*readable\s+readable \(1\)\s+yes$/);
    expect(nodeProblem({ node: 'x', report: { ...ready, torch: { error: 'ImportError: libcudart' } } }, '0.1.0')).toBe('torch cannot be imported');
  });
});

describe('the items doctor samples', () => {
  it('the first items that are paths, absolute: a folder\'s files, a list file\'s lines; none from JSONL objects', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'go-doctor-'));
    try {
      for (const name of ['a.png', 'b.png', 'c.png', 'd.png']) writeFileSync(path.join(dir, name), '');
      expect(await samplePaths(dir)).toEqual(['a.png', 'b.png', 'c.png'].map((name) => path.join(dir, name)));
      writeFileSync(path.join(dir, 'list.txt'), 'relative/x.png\n/abs/y.png\n');
      expect(await samplePaths(path.join(dir, 'list.txt'))).toEqual([path.resolve('relative/x.png'), '/abs/y.png']);
      writeFileSync(path.join(dir, 'items.jsonl'), '{"id": "1", "text": "hello"}\n');
      expect(await samplePaths(path.join(dir, 'items.jsonl'))).toEqual([]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
