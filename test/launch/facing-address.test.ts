import { describe, expect, it } from 'vitest';
import { facingAddress, kernelSourceFor } from '../../src/launch/facing-address.js';

describe('the address that faces the nodes', () => {
  it("is this machine's source address on the route to the first node that is not this machine", async () => {
    const asked: string[] = [];
    const world = {
      resolve: async (node: string) => ({ here: '127.0.1.1', self: '192.168.1.4', far: '10.201.0.11' })[node] as string,
      sourceFor: async (address: string) => {
        asked.push(address);
        return address === '192.168.1.4' ? '192.168.1.4' : '10.201.0.1';
      },
    };
    expect(await facingAddress(['here', 'self', 'far'], world)).toEqual({ address: '10.201.0.1', node: 'far' });
    expect(asked).toEqual(['192.168.1.4', '10.201.0.11']); // a loopback name is this machine: no route asked
    expect(await facingAddress(['here', 'self'], world)).toBeUndefined();
  });

  it('never a 127.x address, even when the route to a node goes through loopback', async () => {
    const world = { resolve: async () => '10.0.0.9', sourceFor: async () => '127.0.0.1' };
    expect(await facingAddress(['odd'], world)).toBeUndefined();
  });

  it("asks the kernel's routing table without sending anything", async () => {
    expect(await kernelSourceFor('127.0.0.1')).toBe('127.0.0.1');
  });
});
