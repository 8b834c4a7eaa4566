// Role verifiers come from pg_authid through one privileged connection (the "auth query"), never from a userlist
// file, so password changes and new roles apply at the next login without touching the router.
import pg from 'pg';
import type { Logger } from 'pino';
import { checkServerIdentity, type PeerCertificate } from 'node:tls';
import { parseVerifier, type ScramVerifier } from './scram.js';
import type { BackendTls } from '../pool/backend-stream.js';

export interface AuthQueryConfig { host: string; port: number; user: string; password: string; database: string; tls?: BackendTls | null }

/** Only roles that may log in now; a role without a SCRAM verifier cannot use the router. */
const AUTH_QUERY = `select rolpassword from pg_catalog.pg_authid
  where rolname = $1 and rolcanlogin and (rolvaliduntil is null or rolvaliduntil > now())`;

export class VerifierSource {
  private readonly pool: pg.Pool;

  constructor(config: AuthQueryConfig, log: Logger) {
    this.pool = new pg.Pool({
      host: config.host, port: config.port, user: config.user, password: config.password, database: config.database,
      max: 2, idleTimeoutMillis: 30_000, connectionTimeoutMillis: 5_000, application_name: 'pgop-router-auth',
      // verify-full like the pools: the CA, and the certificate's names against servername (or the host).
      ssl: config.tls ? { ca: config.tls.ca, rejectUnauthorized: true, checkServerIdentity: (_h: string, cert: PeerCertificate) => checkServerIdentity(config.tls!.servername ?? config.host, cert) } : false,
    });
    this.pool.on('error', (e) => log.warn({ err: e.message }, 'auth query connection failed; it will reconnect'));
  }

  async lookup(role: string): Promise<ScramVerifier | null> {
    const r = await this.pool.query<{ rolpassword: string | null }>(AUTH_QUERY, [role]);
    return parseVerifier(r.rows[0]?.rolpassword ?? null);
  }

  async raw(role: string): Promise<string | null> {
    const r = await this.pool.query<{ rolpassword: string | null }>('select rolpassword from pg_catalog.pg_authid where rolname = $1', [role]);
    return r.rows[0]?.rolpassword ?? null;
  }

  end(): Promise<void> { return this.pool.end(); }
}
