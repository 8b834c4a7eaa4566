// Short-lived connections with tight timeouts: the operator and agents must notice a dead instance quickly.
import pg from 'pg';
import { readFileSync } from 'node:fs';

/**
 * `tls`: verify the server against this CA (a file or PEM text) (verify-full: the certificate must name `serverName`, or the
 * host dialled when there is none).
 */
export interface Endpoint {
  host: string; port: number; user: string; password: string; database?: string;
  tls?: { caFile?: string; caPem?: string; serverName?: string | null };
}

/** node-postgres TLS options equivalent to libpq's sslmode=verify-full with sslrootcert. */
export function tlsOptions(tls: NonNullable<Endpoint['tls']>): { ca: string; rejectUnauthorized: true; servername?: string } {
  const ca = tls.caPem ?? (tls.caFile ? readFileSync(tls.caFile, 'utf8') : null);
  if (!ca) throw new Error('a TLS endpoint needs the CA that signed the server certificate (caFile or caPem)');
  return { ca, rejectUnauthorized: true, ...(tls.serverName ? { servername: tls.serverName } : {}) };
}

export async function withClient<T>(ep: Endpoint, fn: (c: pg.Client) => Promise<T>, timeoutMs = 3000): Promise<T> {
  const client = new pg.Client({
    host: ep.host, port: ep.port, user: ep.user, password: ep.password, database: ep.database ?? 'postgres',
    connectionTimeoutMillis: timeoutMs, statement_timeout: timeoutMs * 2, application_name: 'pgop',
    ...(ep.tls ? { ssl: tlsOptions(ep.tls) } : {}),
  });
  client.on('error', () => { /* a dropped connection surfaces on the pending query; nothing else listens */ });
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.end().catch(() => undefined);
  }
}

export const ident = (name: string) => pg.escapeIdentifier(name);
export const literal = (value: string) => pg.escapeLiteral(value);
