// SCRAM-SHA-256 (RFC 5802 / RFC 7677) on both sides of the router, without ever holding a password:
// - towards clients, the role's verifier from pg_authid (SCRAM-SHA-256$<iter>:<salt>$<StoredKey>:<ServerKey>) is
//   enough to check a proof, and checking it recovers the client's ClientKey (proof XOR ClientSignature);
// - towards PostgreSQL, that ClientKey is enough to compute a fresh proof. This is PgBouncer's auth_query + SCRAM
//   pass-through: the router only ever holds what a verifier plus one successful login reveal.
import { createHash, createHmac, randomBytes, timingSafeEqual } from 'node:crypto';

export interface ScramVerifier { iterations: number; salt: string; storedKey: Buffer; serverKey: Buffer }

export class ScramError extends Error {
  constructor(message: string) { super(message); this.name = 'ScramError'; }
}

const sha256 = (b: Buffer) => createHash('sha256').update(b).digest();
const hmac = (key: Buffer, s: string) => createHmac('sha256', key).update(s, 'utf8').digest();
const xor = (a: Buffer, b: Buffer) => { const o = Buffer.allocUnsafe(a.length); for (let i = 0; i < a.length; i++) o[i] = a[i]! ^ b[i]!; return o; };

const VERIFIER = /^SCRAM-SHA-256\$(\d+):([A-Za-z0-9+/=]+)\$([A-Za-z0-9+/=]+):([A-Za-z0-9+/=]+)$/;

/** Parses a pg_authid.rolpassword value; null for md5/plain/absent (the router then refuses the login). */
export function parseVerifier(rolpassword: string | null): ScramVerifier | null {
  const m = rolpassword ? VERIFIER.exec(rolpassword) : null;
  if (!m) return null;
  const storedKey = Buffer.from(m[3]!, 'base64');
  const serverKey = Buffer.from(m[4]!, 'base64');
  if (storedKey.length !== 32 || serverKey.length !== 32) return null;
  return { iterations: Number(m[1]), salt: m[2]!, storedKey, serverKey };
}

/** A verifier that matches no password, so unknown roles go through the same exchange and fail at its end. */
export function mockVerifier(role: string, secret: Buffer): ScramVerifier {
  const salt = createHmac('sha256', secret).update(`salt:${role}`).digest().subarray(0, 16).toString('base64');
  return { iterations: 4096, salt, storedKey: randomBytes(32), serverKey: randomBytes(32) };
}

function attributes(msg: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const part of msg.split(',')) {
    const eq = part.indexOf('=');
    if (eq === 1) out.set(part[0]!, part.slice(2));
  }
  return out;
}

/** The server side of one exchange. */
export class ScramServer {
  private clientFirstBare = '';
  private serverFirst = '';
  private gs2Header = '';
  private nonce = '';

  constructor(private readonly verifier: ScramVerifier) {}

  /** client-first-message → server-first-message. Channel binding is not offered, so "p=" is refused. */
  first(clientFirst: string): string {
    const m = /^([ny]),(a=[^,]*)?,(.*)$/.exec(clientFirst);
    if (!m) throw new ScramError(clientFirst.startsWith('p=') ? 'channel binding is not supported by this server' : 'malformed SCRAM client-first-message');
    this.gs2Header = `${m[1]},${m[2] ?? ''},`;
    this.clientFirstBare = m[3]!;
    const clientNonce = attributes(this.clientFirstBare).get('r');
    if (!clientNonce || /[^\x21-\x2b\x2d-\x7e]/.test(clientNonce)) throw new ScramError('malformed SCRAM client nonce');
    this.nonce = clientNonce + randomBytes(18).toString('base64');
    this.serverFirst = `r=${this.nonce},s=${this.verifier.salt},i=${this.verifier.iterations}`;
    return this.serverFirst;
  }

  /** client-final-message → ClientKey and server-final-message, or throws if the proof is wrong. */
  final(clientFinal: string): { clientKey: Buffer; serverFinal: string } {
    const pIdx = clientFinal.lastIndexOf(',p=');
    if (pIdx < 0) throw new ScramError('malformed SCRAM client-final-message');
    const withoutProof = clientFinal.slice(0, pIdx);
    const attrs = attributes(withoutProof);
    if (attrs.get('c') !== Buffer.from(this.gs2Header).toString('base64')) throw new ScramError('SCRAM channel binding data does not match');
    if (attrs.get('r') !== this.nonce) throw new ScramError('SCRAM nonce does not match');
    const proof = Buffer.from(clientFinal.slice(pIdx + 3), 'base64');
    if (proof.length !== 32) throw new ScramError('malformed SCRAM proof');
    const authMessage = `${this.clientFirstBare},${this.serverFirst},${withoutProof}`;
    const clientKey = xor(proof, hmac(this.verifier.storedKey, authMessage));
    if (!timingSafeEqual(sha256(clientKey), this.verifier.storedKey)) throw new ScramError('password authentication failed');
    return { clientKey, serverFinal: `v=${hmac(this.verifier.serverKey, authMessage).toString('base64')}` };
  }
}

/** The client side towards PostgreSQL, proving knowledge of ClientKey (no password needed). */
export class ScramClientWithKey {
  private readonly clientNonce = randomBytes(18).toString('base64');
  private expectedServerSignature = '';

  constructor(private readonly clientKey: Buffer, private readonly serverKey: Buffer | null) {}

  /** client-first-message; PostgreSQL takes the role from the startup packet, so the SCRAM user is empty. */
  first(): string { return `n,,n=,r=${this.clientNonce}`; }

  final(serverFirst: string): string {
    const a = attributes(serverFirst);
    const nonce = a.get('r');
    if (!nonce?.startsWith(this.clientNonce) || !a.get('s') || !a.get('i')) throw new ScramError('malformed SCRAM server-first-message from the backend');
    const withoutProof = `c=biws,r=${nonce}`;
    const authMessage = `n=,r=${this.clientNonce},${serverFirst},${withoutProof}`;
    const proof = xor(this.clientKey, hmac(sha256(this.clientKey), authMessage));
    if (this.serverKey) this.expectedServerSignature = hmac(this.serverKey, authMessage).toString('base64');
    return `${withoutProof},p=${proof.toString('base64')}`;
  }

  /** Checks server-final-message: the backend must prove it holds the same verifier. */
  verify(serverFinal: string): void {
    if (!this.expectedServerSignature) return;
    const v = attributes(serverFinal).get('v');
    if (v !== this.expectedServerSignature) throw new ScramError('backend SCRAM server signature does not match the verifier');
  }
}
