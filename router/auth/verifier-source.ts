// Role verifiers come through one least-privilege connection (the "auth query", ADR 0039): the router logs in as the
// operator-managed role pgop_router and calls the SECURITY DEFINER function pgop_router.lookup, which returns the
// verifier of ordinary roles only (no superuser, replication, BYPASSRLS, pgop_* or pg_* role). Nothing is cached:
// every login asks again, so a changed password applies to the next login and the old one stops working at once,
// and any role with a SCRAM password on the shards can log in, whether a PostgresUser made it or plain SQL did.
import pg from 'pg';
import type { Logger } from 'pino';
import { checkServerIdentity, type PeerCertificate } from 'node:tls';
import { parseVerifier, type ScramVerifier } from './scram.js';
import type { BackendTls } from '../pool/backend-stream.js';

export interface AuthQueryConfig { host: string; port: number; user: string; password: string; database: string; tls?: BackendTls | null }

/** The lookup function the operator installs (adapters/router/router-auth-sql.ts; adapters/ and router/ do not import each other). */
export const LOOKUP_FUNCTION = 'pgop_router.lookup';
const LOOKUP = `select passwd, can_login from ${LOOKUP_FUNCTION}($1)`;

/** The lookup cannot run at all (function missing, no EXECUTE): a setup fault, logged as such rather than a bad password. */
export class LookupUnavailable extends Error {
  constructor(message: string) { super(message); this.name = 'LookupUnavailable'; }
}

export class VerifierSource {
  private readonly pool: pg.Pool;

  constructor(private readonly config: AuthQueryConfig, log: Logger) {
    this.pool = new pg.Pool({
      host: config.host, port: config.port, user: config.user, password: config.password, database: config.database,
      max: 2, idleTimeoutMillis: 30_000, connectionTimeoutMillis: 5_000, application_name: 'pgop-router-auth',
      // verify-full like the pools: the CA, and the certificate's names against servername (or the host).
      ssl: config.tls ? { ca: config.tls.ca, rejectUnauthorized: true, checkServerIdentity: (_h: string, cert: PeerCertificate) => checkServerIdentity(config.tls!.servername ?? config.host, cert) } : false,
    });
    this.pool.on('error', (e) => log.warn({ err: e.message }, 'auth query connection failed; it will reconnect'));
  }

  private async query(role: string): Promise<{ passwd: string | null; can_login: boolean } | undefined> {
    try {
      return (await this.pool.query<{ passwd: string | null; can_login: boolean }>(LOOKUP, [role])).rows[0];
    } catch (e) {
      const code = (e as { code?: string }).code;
      // 42883 undefined_function, 3F000 invalid_schema_name, 42501 insufficient_privilege.
      if (code === '42883' || code === '3F000' || code === '42501') {
        throw new LookupUnavailable(`the router's verifier lookup ${LOOKUP_FUNCTION}(text) is not usable by role "${this.config.user}" in database "${this.config.database}" (${(e as Error).message}); the operator installs it with the role`);
      }
      throw e;
    }
  }

  /** The verifier of a role that may log in through the router now; null refuses the login. */
  async lookup(role: string): Promise<ScramVerifier | null> {
    const r = await this.query(role);
    return r?.can_login ? parseVerifier(r.passwd) : null;
  }

  /** The stored verifier text of an ordinary role, login or not (role fan-out copies it to the other shards). */
  async raw(role: string): Promise<string | null> {
    return (await this.query(role))?.passwd ?? null;
  }

  end(): Promise<void> { return this.pool.end(); }
}
