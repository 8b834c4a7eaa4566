import pg from 'pg';

/** `target`: a libpq URI, or a client config (TLS verified by a name other than the address dialled). */
export async function query<T extends pg.QueryResultRow = pg.QueryResultRow>(target: string | pg.ClientConfig, text: string, values: unknown[] = []): Promise<T[]> {
  const c = new pg.Client({ ...(typeof target === 'string' ? { connectionString: target } : target), connectionTimeoutMillis: 5000 });
  c.on('error', () => undefined);
  await c.connect();
  try { return (await c.query<T>(text, values)).rows; } finally { await c.end(); }
}

/** A direct connection to one instance: TLS verified against the cluster CA (plain TCP is refused). */
export const uriFor = (user: string, password: string, port: number, database: string, caFile: string) =>
  `postgresql://${encodeURIComponent(user)}:${encodeURIComponent(password)}@127.0.0.1:${port}/${database}?sslmode=verify-full&sslrootcert=${encodeURIComponent(caFile)}`;

/** Retries a query until it returns what `ok` wants (replication is asynchronous). */
export async function eventually<T>(fn: () => Promise<T>, ok: (v: T) => boolean, timeoutMs = 30_000): Promise<T> {
  const until = Date.now() + timeoutMs;
  let last: T | undefined;
  let error: unknown;
  while (Date.now() < until) {
    try { last = await fn(); if (ok(last)) return last; } catch (e) { error = e; }
    await new Promise((r) => setTimeout(r, 300));
  }
  throw new Error(`condition not met in ${timeoutMs} ms; last value ${JSON.stringify(last)}${error ? `, last error ${(error as Error).message}` : ''}`);
}
