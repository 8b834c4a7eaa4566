// PgBouncer's admin console (the virtual `pgbouncer` database): SHOW STATE, RELOAD, PAUSE, RESUME. Only the simple
// query protocol and a few startup parameters are accepted there, so this client sets no statement_timeout (that
// would be a startup parameter) and times out on its side instead.
import pg from 'pg';
import { AUTH_USER } from './pgbouncer-config.js';

export interface AdminTarget { host: string; port: number; password: string }

export async function withAdmin<T>(t: AdminTarget, fn: (run: (command: string) => Promise<Record<string, string>[]>) => Promise<T>, timeoutMs = 20_000): Promise<T> {
  const client = new pg.Client({
    host: t.host, port: t.port, user: AUTH_USER, password: t.password, database: 'pgbouncer',
    connectionTimeoutMillis: 3000, query_timeout: timeoutMs,
  });
  client.on('error', () => { /* surfaces on the pending query */ });
  await client.connect();
  try {
    return await fn(async (command) => (await client.query<Record<string, string>>(command)).rows);
  } finally {
    await client.end().catch(() => undefined);
  }
}

/**
 * PAUSE or RESUME, idempotently: PgBouncer 1.18 has no SHOW STATE, but it refuses a second PAUSE ("already
 * suspended/paused") and a RESUME of a running pooler ("not paused"), so those answers confirm the state too.
 */
export async function setPaused(run: (command: string) => Promise<Record<string, string>[]>, paused: boolean): Promise<boolean> {
  try {
    await run(paused ? 'PAUSE' : 'RESUME');
  } catch (e) {
    const msg = (e as Error).message;
    if (paused && /already/i.test(msg)) return true;
    if (!paused && /not paused/i.test(msg)) return false;
    throw e;
  }
  return paused;
}
