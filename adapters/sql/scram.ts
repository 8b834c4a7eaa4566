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

/**
 * A salt that is the same wherever it is computed for one role of one cluster: a sharded cluster's role must carry
 * the very same verifier on every shard, because the router checks the client against one shard's verifier and
 * logs in to every shard with the ClientKey that check recovers (router/auth/scram.ts). Keyed by the cluster's uid,
 * so two clusters (or a re-created one) do not share salts.
 */
export function stableSalt(clusterKey: string, role: string): Buffer {
  return createHmac('sha256', clusterKey).update(`pgop-scram-salt:${role}`).digest().subarray(0, 16);
}
