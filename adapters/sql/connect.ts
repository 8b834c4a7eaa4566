// Short-lived connections with tight timeouts: the operator and agents must notice a dead instance quickly.
import pg from 'pg';

export interface Endpoint { host: string; port: number; user: string; password: string; database?: string }

export async function withClient<T>(ep: Endpoint, fn: (c: pg.Client) => Promise<T>, timeoutMs = 3000): Promise<T> {
  const client = new pg.Client({
    host: ep.host, port: ep.port, user: ep.user, password: ep.password, database: ep.database ?? 'postgres',
    connectionTimeoutMillis: timeoutMs, statement_timeout: timeoutMs * 2, application_name: 'pgop',
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
