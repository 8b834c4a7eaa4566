// What a PostgreSQL server presents over TLS: the SSLRequest handshake by hand, then the peer certificate.
import { connect as tcpConnect } from 'node:net';
import { connect as tlsConnect, type PeerCertificate } from 'node:tls';

/** The certificate served at host:port, verified against `ca` (by `servername` when given, else by the address). */
export function servedCertificate(host: string, port: number, ca: string, servername?: string): Promise<PeerCertificate> {
  return new Promise((resolve, reject) => {
    const socket = tcpConnect(port, host);
    socket.once('error', reject);
    socket.once('connect', () => {
      const req = Buffer.alloc(8);
      req.writeInt32BE(8, 0);
      req.writeInt32BE(80877103, 4);
      socket.write(req);
    });
    socket.once('data', (b) => {
      if (b.toString('utf8', 0, 1) !== 'S') { socket.destroy(); reject(new Error(`server refused TLS (${b.toString('utf8', 0, 1)})`)); return; }
      const tls = tlsConnect({ socket, ca, host, ...(servername ? { servername } : {}), rejectUnauthorized: true }, () => {
        const cert = tls.getPeerCertificate();
        tls.destroy();
        resolve(cert);
      });
      tls.once('error', reject);
    });
  });
}
