import { describe, expect, it } from 'vitest';
import { hostsByNode, nodeDevices, rankDevices } from '../../src/launch/node-devices.js';

describe('devices named by node', () => {
  it('--gpus cpu:N gives N CPU devices on every node, ranked across the nodes in order', () => {
    const devices = nodeDevices([{ node: 'gpo-n1', gpus: 0 }, { node: 'gpo-n2', gpus: 0 }], { kind: 'cpu', count: 2 }, 'slurm');
    expect(devices.map((device) => [device.index, device.label, device.node, device.kind])).toEqual([
      [0, 'gpo-n1:cpu:0', 'gpo-n1', 'cpu'],
      [1, 'gpo-n1:cpu:1', 'gpo-n1', 'cpu'],
      [2, 'gpo-n2:cpu:0', 'gpo-n2', 'cpu'],
      [3, 'gpo-n2:cpu:1', 'gpo-n2', 'cpu'],
    ]);
    expect(hostsByNode(devices)).toEqual(new Map([['gpo-n1', [0, 1]], ['gpo-n2', [2, 3]]]));
  });

  it('--gpus all gives each node its own GPUs (nodes may differ)', () => {
    const devices = nodeDevices([{ node: 'node7', gpus: 4 }, { node: 'node9', gpus: 2 }], { kind: 'all' }, 'slurm');
    expect(devices.map((device) => device.label)).toEqual(['node7:cuda:0', 'node7:cuda:1', 'node7:cuda:2', 'node7:cuda:3', 'node9:cuda:0', 'node9:cuda:1']);
    expect(devices.every((device) => device.kind === 'cuda')).toBe(true);
  });

  it('refuses a GPU list, and an allocation without GPUs under --gpus all, saying what to pass', () => {
    expect(() => nodeDevices([{ node: 'n1', gpus: 4 }], { kind: 'gpus', indices: [0, 2] }, 'slurm')).toThrow(/names GPUs of one machine.*--gpus all.*--gpus cpu:N/);
    expect(() => nodeDevices([{ node: 'gpo-n1', gpus: 0 }, { node: 'gpo-n2', gpus: 0 }], { kind: 'all' }, 'slurm')).toThrow(/no GPU on gpo-n1, gpo-n2.*--gpus-per-node.*--gpus cpu:N/);
  });

  it('an external launcher\'s hosts are named by rank', () => {
    expect(rankDevices(2, { kind: 'cpu', count: 1 }).map((device) => device.label)).toEqual(['rank0:cpu:0', 'rank1:cpu:0']);
    expect(rankDevices(1, { kind: 'all' })).toMatchObject([{ label: 'rank0:cuda:0', kind: 'cuda' }]);
  });
});
