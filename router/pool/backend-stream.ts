// The byte stream to a backend: plain TCP, or TLS negotiated with SSLRequest and verified like libpq's
// sslmode=verify-full (the chain against the cluster CA, the certificate's names against the expected host name).
// pgop clusters accept only hostssl, so the router speaks TLS to them whenever a CA is configured.
import { connect, isIP, type Socket } from 'node:net';
import { connect as tlsConnect, checkServerIdentity, type PeerCertificate } from 'node:tls';
import type { BackendReads } from './backend-reads.js';

export interface BackendTls {
  /** PEM of the CA that signed the servers' certificates (the cluster CA). */
  ca: string;
  /** The name the certificate must carry; defaults to the host the router connects to. */
  servername?: string;
}

export interface BackendTarget { host: string; port: number; tls?: BackendTls | null }

export class BackendTlsError extends Error {
  constructor(message: string) { super(message); this.name = 'BackendTlsError'; }
}

const SSL_REQUEST = Buffer.from([0, 0, 0, 8, 0x04, 0xd2, 0x16, 0x2f]);

/**
 * Resolves with a connected stream (TLS already verified when the target has tls). Failures reject with the
 * socket error (ECONNREFUSED...) or a BackendTlsError naming the host and what was wrong. With `reads`, every byte
 * the server sends after the connection is up goes to `reads.deliver` (a plain socket reads into its reused buffer).
 */
export function openBackendStream(target: BackendTarget, reads: BackendReads | null = null): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const plainReads = reads && !target.tls ? { onread: reads.onread() } : {};
    const raw = connect({ host: target.host, port: target.port, noDelay: true, ...plainReads });
    const where = `${target.host}:${target.port}`;
    let settled = false;
    const fail = (e: Error) => { if (settled) return; settled = true; raw.destroy(); reject(e); };
    const closed = () => fail(new Error(`backend ${where} closed the connection`));
    const detach = () => { raw.off('error', fail); raw.off('close', closed); };
    raw.on('error', fail);
    raw.on('close', closed);
    const tls = target.tls;
    if (!tls) {
      raw.once('connect', () => { settled = true; detach(); resolve(raw); });
      return;
    }
    raw.once('connect', () => raw.write(SSL_REQUEST));
    raw.once('data', (b: Buffer) => {
      if (b.length !== 1 || b[0] !== 0x53 /* S */) {
        fail(new BackendTlsError(`backend ${where} refused TLS (answered ${JSON.stringify(b.toString('latin1', 0, 1))}); enable ssl on the server or drop backend.tls`));
        return;
      }
      const name = tls.servername ?? target.host;
      const secure = tlsConnect({
        socket: raw, ca: tls.ca, rejectUnauthorized: true, minVersion: 'TLSv1.2',
        // SNI carries host names only; the identity check below covers IP literals too.
        ...(isIP(name) ? {} : { servername: name }),
        checkServerIdentity: (_host: string, cert: PeerCertificate) => checkServerIdentity(name, cert),
      });
      const tlsFailed = (e: Error) => fail(new BackendTlsError(`backend ${where}: TLS verification against the CA failed for "${name}": ${e.message}`));
      secure.on('error', tlsFailed);
      secure.once('secureConnect', () => {
        if (settled) return;
        settled = true;
        detach();
        secure.off('error', tlsFailed);
        secure.setNoDelay(true);
        if (reads) secure.on('data', (c: Buffer) => reads.deliver(c));
        resolve(secure);
      });
    });
  });
}
