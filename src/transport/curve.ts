/**
 * CURVE for the controller's TCP socket: keys made for the run, and the ZAP handler that lets in
 * only the run's own client key.
 *
 * CURVE encrypts and makes a client prove it holds the secret key of the public key it shows,
 * but a CURVE server on its own admits any client keypair once the client knows the server's
 * public key (which is not a secret). ZeroMQ asks a ZAP handler (RFC 27, a Reply socket bound to
 * inproc://zeromq.zap.01 in the server socket's context) about every new connection; this one
 * answers 200 for the run's client public key and 400 for any other, so a process without the
 * run's client secret key can neither connect, read work, nor send a result.
 */
import { curveKeyPair, Reply, type Context } from 'zeromq';

/** The keys a device host needs (Z85 text, 40 characters each), as the launch config carries them. */
export interface CurveClientKeys {
  server_public: string;
  client_public: string;
  client_secret: string;
}

export interface RunKeys {
  serverSecret: string;
  client: CurveClientKeys;
}

/** A server keypair and one client keypair, new for each run; every host and replica uses the client pair. */
export function makeRunKeys(): RunKeys {
  const server = curveKeyPair();
  const client = curveKeyPair();
  return { serverSecret: server.secretKey, client: { server_public: server.publicKey, client_public: client.publicKey, client_secret: client.secretKey } };
}

const Z85_DIGITS = '0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ.-:+=^!/*?&<>()[]{}@%$#';

/**
 * Z85 (ZeroMQ RFC 32) text of `bytes` (a multiple of 4 long): ZAP hands the client's key over as
 * 32 raw bytes, the keys are kept as Z85 text. zeromq.js exposes no Z85 function.
 */
export function z85Encode(bytes: Uint8Array): string {
  if (bytes.length % 4 !== 0) throw new Error(`Z85 encodes whole 4-byte groups; got ${bytes.length} bytes`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let text = '';
  for (let offset = 0; offset < bytes.length; offset += 4) {
    let value = view.getUint32(offset);
    let group = '';
    for (let digit = 0; digit < 5; digit += 1) {
      group = Z85_DIGITS[value % 85] + group;
      value = Math.floor(value / 85);
    }
    text += group;
  }
  return text;
}

export const ZAP_ENDPOINT = 'inproc://zeromq.zap.01';
/** The ZAP domain of the controller's socket; with zapEnforceDomain, no handler means no entry. */
export const ZAP_DOMAIN = 'gpu-orchestrate';

/** Answers ZAP requests in `context` until closed. Bind it before any CURVE socket of that context binds. */
export class ZapHandler {
  private readonly socket: Reply;
  /** Connections refused so far (a rogue client, or a host of another run). */
  refused = 0;

  private constructor(
    context: Context,
    private readonly admitted: ReadonlySet<string>,
  ) {
    this.socket = new Reply({ context, linger: 0 });
  }

  static async start(context: Context, admitted: string[]): Promise<ZapHandler> {
    const handler = new ZapHandler(context, new Set(admitted));
    await handler.socket.bind(ZAP_ENDPOINT);
    void handler.serve();
    return handler;
  }

  private async serve(): Promise<void> {
    try {
      for await (const frames of this.socket) {
        // version, request id, domain, address, identity, mechanism, credentials (CURVE: the client's public key)
        const [version, requestId, domain, , , mechanism, key] = frames;
        const admit = version?.toString() === '1.0' && domain?.toString() === ZAP_DOMAIN && mechanism?.toString() === 'CURVE' && key?.length === 32 && this.admitted.has(z85Encode(key));
        if (!admit) this.refused += 1;
        await this.socket.send(['1.0', requestId ?? '', admit ? '200' : '400', admit ? 'OK' : 'not a key of this run', '', '']);
      }
    } catch {
      // Closed with the transport. Had it failed otherwise, new connections would wait for an
      // answer that never comes: refused, which is the safe way to fail.
    }
  }

  close(): void {
    this.socket.close();
  }
}
