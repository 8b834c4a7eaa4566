// SCRAM-SHA-256 verifiers (RFC 5802/7677), so passwords reach ALTER ROLE pre-hashed and never appear in the
// server log or pg_stat_statements in clear text.
import { pbkdf2Sync, createHmac, createHash, randomBytes } from 'node:crypto';

export function scramVerifier(password: string, iterations = 4096, salt: Buffer = randomBytes(16)): string {
  const salted = pbkdf2Sync(password.normalize('NFKC'), salt, iterations, 32, 'sha256');
  const clientKey = createHmac('sha256', salted).update('Client Key').digest();
  const storedKey = createHash('sha256').update(clientKey).digest();
  const serverKey = createHmac('sha256', salted).update('Server Key').digest();
  return `SCRAM-SHA-256$${iterations}:${salt.toString('base64')}$${storedKey.toString('base64')}:${serverKey.toString('base64')}`;
}
