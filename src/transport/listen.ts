/**
 * Where the controller listens over TCP (--listen HOST[:PORT]) and the address device hosts are
 * told to connect to (--advertise HOST). Without --listen the run stays on ipc:// endpoints in its
 * private run folder (one machine).
 */
import { hostname } from 'node:os';
import { UsageError } from '../errors.js';

export interface ListenAddress {
  /** What to bind: an address of this machine, a name that resolves to one, or a wildcard (every interface). */
  host: string;
  /** 0: any free port, chosen when the socket binds. */
  port: number;
  /** The host name or address device hosts connect to: the one other nodes reach this machine by. */
  advertise: string;
}

const WILDCARDS = new Set(['*', '0.0.0.0', '::', '[::]']);

function bracketed(host: string): string {
  return host.includes(':') && !host.startsWith('[') ? `[${host}]` : host;
}

/** "10.0.0.5", "10.0.0.5:5555", "node7:0", "[fe80::1]:5555", "0.0.0.0" (with --advertise, or this machine's name). */
export function parseListen(text: string, advertise?: string): ListenAddress {
  const match = /^(\[[^\]]+\]|[^:[\]]+)(?::(\d+))?$/.exec(text.trim());
  const port = Number(match?.[2] ?? 0);
  if (!match || port > 65_535) {
    throw new UsageError(`--listen ${JSON.stringify(text)}: expected HOST or HOST:PORT, such as 10.0.0.5, 10.0.0.5:5555 or 0.0.0.0:5555 (PORT 0 or none: any free port)`);
  }
  const host = (match[1] as string).replace(/^\[(.*)\]$/, '$1');
  if (advertise !== undefined && !/^(\[[^\]]+\]|[^\s:[\]/]+|[0-9a-fA-F:]+)$/.test(advertise.trim())) {
    throw new UsageError(`--advertise ${JSON.stringify(advertise)}: expected a host name or an address, without a port, such as node7 or 10.0.0.5`);
  }
  const advertised = advertise?.trim().replace(/^\[(.*)\]$/, '$1') ?? (WILDCARDS.has(host) ? hostname() : host);
  return { host, port, advertise: advertised };
}

/** An IPv6 address, or every interface (IPv6 ones too): the socket needs ZeroMQ's ipv6 option. */
export function needsIpv6(address: ListenAddress): boolean {
  return address.host.includes(':') || WILDCARDS.has(address.host);
}

/** Where the socket listens, in words, once bound on `port`. */
export function listeningOn(address: ListenAddress, port: number): string {
  return WILDCARDS.has(address.host) ? `port ${port} of every interface` : `tcp://${bracketed(address.host)}:${port}`;
}

/** The endpoint to bind; port 0 becomes ZeroMQ's "any free port". */
export function bindEndpoint(address: ListenAddress): string {
  const host = WILDCARDS.has(address.host) ? '*' : bracketed(address.host);
  return `tcp://${host}:${address.port === 0 ? '*' : address.port}`;
}

/** The endpoint device hosts connect to, once the socket is bound on `port`. */
export function advertisedEndpoint(address: ListenAddress, port: number): string {
  return `tcp://${bracketed(address.advertise)}:${port}`;
}

/** The port a bound socket's last endpoint ("tcp://0.0.0.0:41235") ends with. */
export function boundPort(lastEndpoint: string | null): number {
  const port = Number(/:(\d+)$/.exec(lastEndpoint ?? '')?.[1]);
  if (!Number.isInteger(port) || port <= 0) throw new Error(`the controller's socket reports no TCP port (its endpoint is ${JSON.stringify(lastEndpoint)})`);
  return port;
}
