// Does a stored SCRAM-SHA-256 verifier (pg_authid.rolpassword) belong to this password? Recomputes the keys
// with the verifier's own salt and iterations, so the operator can tell whether a password needs setting
// without ever logging in or storing the password anywhere.
import { pbkdf2Sync, createHmac, createHash, timingSafeEqual } from 'node:crypto';

const FORMAT = /^SCRAM-SHA-256\$(\d+):([A-Za-z0-9+/=]+)\$([A-Za-z0-9+/=]+):([A-Za-z0-9+/=]+)$/;

export function verifierMatches(password: string, verifier: string | null): boolean {
  if (!verifier) return false;
  const m = FORMAT.exec(verifier);
  if (!m) return false; // md5 or plain: not what the operator sets, so set it again
  const [, iterations, salt, storedKey, serverKey] = m as unknown as [string, string, string, string, string];
  const salted = pbkdf2Sync(password.normalize('NFKC'), Buffer.from(salt, 'base64'), Number(iterations), 32, 'sha256');
  const clientKey = createHmac('sha256', salted).update('Client Key').digest();
  const stored = createHash('sha256').update(clientKey).digest();
  const server = createHmac('sha256', salted).update('Server Key').digest();
  const same = (a: Buffer, b: string) => { const bb = Buffer.from(b, 'base64'); return a.length === bb.length && timingSafeEqual(a, bb); };
  return same(stored, storedKey) && same(server, serverKey);
}
