import { describe, expect, it } from 'vitest';
import { parseHostsFile } from '../../src/launch/hosts-file.js';
import { nodeDevices } from '../../src/launch/node-devices.js';

describe('the hosts file of --launcher ssh', () => {
  it('reads HOST slots=N lines, comments and blank lines, and user@host', () => {
    const hosts = parseHostsFile('# the lab\ngpu-a slots=4\n\nroot@gpu-b slots=2   # the old one\ngpu-c\n', 'hosts.txt');
    expect(hosts).toEqual([
      { destination: 'gpu-a', node: 'gpu-a', slots: 4 },
      { destination: 'root@gpu-b', node: 'gpu-b', slots: 2 },
      { destination: 'gpu-c', node: 'gpu-c', slots: 1 },
    ]);
    expect(nodeDevices(hosts.map((host) => ({ node: host.node, gpus: host.slots })), { kind: 'all' }, 'ssh').map((device) => device.label).slice(3, 6)).toEqual(['gpu-a:cuda:3', 'gpu-b:cuda:0', 'gpu-b:cuda:1']);
  });

  it.each([
    ['gpu-a slots=0\n', /line 1: "slots=0" is not slots=N/],
    ['gpu-a cpus=4\n', /line 1: "cpus=4" is not slots=N/],
    ['gpu-a slots=1\ngpu-a slots=2\n', /line 2: gpu-a is listed twice/],
    ['# nothing\n\n', /names no host/],
    ['-oProxyCommand=x slots=1\n', /is not a host name/],
  ])('refuses %j, naming the line', (text, message) => {
    expect(() => parseHostsFile(text, 'hosts.txt')).toThrow(message);
  });
});
