/**
 * The controller's one socket, with zeromq.js peers standing in for hosts and replicas: what waits
 * for a peer that has not connected, what is dropped, and over TCP who may connect at all.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { curveKeyPair, Dealer, type Socket } from 'zeromq';
import { decode, encode } from '../../src/transport/codec.js';
import { parseListen } from '../../src/transport/listen.js';
import { batchesMessage, PROTOCOL_VERSION, takeBackRoute, taskRoute, type ReplicaPeer } from '../../src/transport/messages.js';
import { Transport, type HostAccess, type Received } from '../../src/transport/sockets.js';

const opened: (Transport | Socket)[] = [];
afterEach(() => {
  for (const each of opened.splice(0)) each.close();
});

async function open(mode: 'ipc' | 'tcp'): Promise<{ transport: Transport; received: Received[] }> {
  const transport = await Transport.open(mode === 'tcp' ? { listen: parseListen('127.0.0.1') } : {});
  opened.push(transport);
  const received: Received[] = [];
  void transport.receiveLoop((message) => received.push(message));
  return { transport, received };
}

/** A DEALER as a host or replica connects it (wire.py), with the run's keys over TCP. */
function peerSocket(access: HostAccess, routingId?: string): Dealer {
  const curve = access.curve ? { curveServerKey: access.curve.server_public, curvePublicKey: access.curve.client_public, curveSecretKey: access.curve.client_secret } : {};
  const socket = new Dealer({ linger: 0, ...curve, ...(routingId ? { routingId, probeRouter: true } : {}) });
  opened.push(socket);
  socket.connect(access.endpoint);
  return socket;
}

/** The batch ids of the next `count` task messages, one list per message. */
async function batchIds(socket: Dealer, count: number): Promise<number[][]> {
  const ids: number[][] = [];
  for (let index = 0; index < count; index += 1) {
    const [frame] = await socket.receive();
    ids.push((decode(frame as Buffer) as { batches: { batch: number }[] }).batches.map((entry) => entry.batch));
  }
  return ids;
}

async function until(condition: () => boolean): Promise<void> {
  while (!condition()) await new Promise((resolve) => setTimeout(resolve, 10));
}

const replica: ReplicaPeer = { device: 0, replica: 1, generation: 2 };

describe.each(['ipc', 'tcp'] as const)('the controller socket over %s', (mode) => {
  it('batches sent before the replica connects wait for it, then arrive in the order sent', async () => {
    const { transport } = await open(mode);
    const sent = [[1, 2], [3]].map((batches) => transport.send(replica, batchesMessage(batches.map((batch) => ({ batch, inputs: [`item-${batch}`] })))));
    await until(() => transport.waiting === 2);
    const socket = peerSocket(transport.access, taskRoute(replica));
    expect(await batchIds(socket, 2)).toEqual([[1, 2], [3]]);
    await Promise.all(sent);
    await transport.send(replica, batchesMessage([{ batch: 4, inputs: ['item-4'] }]));
    expect(await batchIds(socket, 1)).toEqual([[4]]);
    expect(transport.waiting).toBe(0);
  });

  it('a take-back to a replica that cannot be reached is dropped, not held; what waits for a forgotten start is dropped', async () => {
    const { transport } = await open(mode);
    transport.takeBack(replica, 1);
    const forgotten = transport.send({ ...replica, generation: 1 }, batchesMessage([{ batch: 9, inputs: ['x'] }]));
    await until(() => transport.waiting === 1); // the batch waits; the take-back does not
    transport.forget({ ...replica, generation: 1 });
    await expect(forgotten).rejects.toThrow(/t\/0\/1\/1 is gone/);
    expect(transport.waiting).toBe(0);
    const socket = peerSocket(transport.access, takeBackRoute(replica));
    // Until the socket's connection is known, a take-back may be dropped: ask until one arrives.
    let heard: number | undefined;
    const listening = socket.receive().then(([frame]) => (heard = (decode(frame as Buffer) as { batch: number }).batch));
    while (heard === undefined) {
      transport.takeBack(replica, 2);
      await Promise.race([listening, new Promise((resolve) => setTimeout(resolve, 20))]);
    }
    expect(heard).toBe(2); // never 1, asked before the replica could be reached
  });

  it('what a host or replica sends arrives decoded; a message of another shape is reported as malformed', async () => {
    const { transport, received } = await open(mode);
    const socket = peerSocket(transport.access);
    await socket.send(encode({ v: PROTOCOL_VERSION, kind: 'heartbeat', device: 0, pid: 7, incarnation: 0 }));
    await socket.send(Buffer.from('not msgpack \xff'));
    await until(() => received.length === 2);
    expect(received[0]).toEqual({ ok: true, event: { v: PROTOCOL_VERSION, kind: 'heartbeat', device: 0, pid: 7, incarnation: 0 } });
    expect(received[1]).toMatchObject({ ok: false, reason: expect.stringMatching(/^not msgpack/) });
  });
});

describe('over TCP, only the run\'s keys get in', () => {
  it('a client with no keys, the wrong server key, or a keypair not of this run is refused: it neither receives a batch nor delivers a result', async () => {
    const { transport, received } = await open('tcp');
    const run = transport.access.curve;
    if (!run) throw new Error('a TCP transport has keys');
    const stranger = curveKeyPair();
    const rogues = {
      'no keys': {},
      'the wrong server key': { curveServerKey: stranger.publicKey, curvePublicKey: run.client_public, curveSecretKey: run.client_secret },
      'a keypair not of this run': { curveServerKey: run.server_public, curvePublicKey: stranger.publicKey, curveSecretKey: stranger.secretKey },
    };
    const pending = transport.send(replica, batchesMessage([{ batch: 1, inputs: ['secret input'] }]));
    for (const options of Object.values(rogues)) {
      // Each claims the replica's routing id, to be sent its batches, and forges a result.
      const socket = new Dealer({ linger: 0, routingId: taskRoute(replica), probeRouter: true, ...options });
      opened.push(socket);
      const refused = (async () => {
        for await (const event of socket.events) if (event.type.startsWith('handshake')) return event.type; // succeeded, or failed
        return 'closed';
      })();
      socket.connect(transport.access.endpoint);
      void socket.send(encode({ v: PROTOCOL_VERSION, kind: 'results', device: 0, replica: 1, results: [{ batch: 1, outcomes: [{ ok: true, result: 'forged', seconds: 0 }], busy: 0 }] })).catch(() => undefined);
      expect(await refused).toMatch(/^handshake:error/);
    }
    expect(transport.refusedConnections).toBeGreaterThanOrEqual(1); // the keypair not of this run, by the ZAP handler
    expect(transport.waiting).toBe(1); // the batch still waits: no rogue took the replica's address
    const real = peerSocket(transport.access, taskRoute(replica));
    expect(await batchIds(real, 1)).toEqual([[1]]);
    await pending;
    const events = peerSocket(transport.access);
    await events.send(encode({ v: PROTOCOL_VERSION, kind: 'heartbeat', device: 0, pid: 7, incarnation: 0 }));
    await until(() => received.length > 0);
    expect(received).toEqual([{ ok: true, event: { v: PROTOCOL_VERSION, kind: 'heartbeat', device: 0, pid: 7, incarnation: 0 } }]);
  });
});
