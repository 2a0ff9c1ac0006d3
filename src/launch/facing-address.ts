/**
 * Where the controller listens when the hosts run on other machines and --listen was not given:
 * the address of this machine that the kernel would send from to reach the nodes (the source
 * address of the route to them), so the hosts' traffic stays on the network between the nodes.
 * Never a 127.x address: a node that resolves to loopback, or that is this machine, is skipped;
 * when every node is this machine, the run stays on ipc:// (undefined).
 *
 * The route is asked of the kernel by connecting a UDP socket, which sends nothing.
 */
import { createSocket } from 'node:dgram';
import { lookup } from 'node:dns/promises';
import { isIP } from 'node:net';
import { UsageError } from '../errors.js';

export interface FacingAddress {
  /** This machine's address on the route to `node`. */
  address: string;
  node: string;
}

export interface RouteWorld {
  /** A node's name to an address, as the system resolves it (/etc/hosts first). */
  resolve(node: string): Promise<string>;
  /** The source address the kernel would use to send to `address`. */
  sourceFor(address: string): Promise<string>;
}

function loopback(address: string): boolean {
  return address.startsWith('127.') || address === '::1' || address === '::ffff:127.0.0.1';
}

/** The kernel's choice of source address for `address`, from a connected UDP socket (nothing is sent). */
export function kernelSourceFor(address: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = createSocket(isIP(address) === 6 ? 'udp6' : 'udp4');
    socket.once('error', (error) => {
      socket.close();
      reject(error);
    });
    socket.connect(9, address, () => {
      const source = socket.address().address;
      socket.close();
      resolve(source);
    });
  });
}

export const systemRoutes: RouteWorld = {
  resolve: async (node) => (await lookup(node)).address,
  sourceFor: kernelSourceFor,
};

/** The address to listen on for hosts on `nodes`, or undefined when every node is this machine. */
export async function facingAddress(nodes: readonly string[], world: RouteWorld = systemRoutes): Promise<FacingAddress | undefined> {
  for (const node of nodes) {
    let address: string;
    try {
      address = await world.resolve(node);
    } catch (error) {
      throw new UsageError(
        `cannot resolve node ${node} (${(error as Error).message}) to choose the address its device hosts connect to: pass --listen with an address of this machine that ${node} reaches (for example --listen 10.0.0.5)`,
      );
    }
    if (loopback(address)) continue; // this machine by another name
    const source = await world.sourceFor(address);
    if (loopback(source) || source === address) continue; // this machine: its hosts reach it anyway
    return { address: source, node };
  }
  return undefined;
}
