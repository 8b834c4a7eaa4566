// A client that writes numbered rows through an endpoint at a steady pace, remembering which ones the server
// acknowledged and when writes failed: the observable for failover tests and the failover benchmark.
import pg from 'pg';

export interface WriterReport {
  acked: number[];
  failures: { at: number; error: string }[];
  /** Longest stretch without an acknowledged write, in ms (write unavailability). */
  longestGapMs: number;
}

export class RowWriter {
  private stopped = false;
  private done: Promise<void> = Promise.resolve();
  readonly acked: number[] = [];
  readonly ackTimes: number[] = [];
  /** The port of the server that acknowledged each write (inet_server_port()): which instance took it. */
  readonly ackServers: number[] = [];
  /** The address it was reached at (inet_server_addr()): tells instances apart where they share a port (Pods). */
  readonly ackAddresses: string[] = [];
  readonly failures: { at: number; error: string }[] = [];

  constructor(private readonly uri: () => Promise<string> | string, private readonly table = 'writes', private readonly everyMs = 10) {}

  async prepare(): Promise<void> {
    const c = new pg.Client({ connectionString: await this.uri() });
    c.on('error', () => undefined);
    await c.connect();
    await c.query(`CREATE TABLE IF NOT EXISTS ${pg.escapeIdentifier(this.table)} (id int PRIMARY KEY, at timestamptz DEFAULT now())`);
    await c.end();
  }

  start(firstId = 1): void {
    this.done = this.loop(firstId);
  }

  async stop(): Promise<WriterReport> {
    this.stopped = true;
    await this.done;
    return this.report();
  }

  report(): WriterReport {
    let longest = 0;
    for (let i = 1; i < this.ackTimes.length; i++) longest = Math.max(longest, (this.ackTimes[i] ?? 0) - (this.ackTimes[i - 1] ?? 0));
    return { acked: [...this.acked], failures: [...this.failures], longestGapMs: longest };
  }

  private async loop(firstId: number): Promise<void> {
    let client: pg.Client | null = null;
    let id = firstId;
    while (!this.stopped) {
      const started = Date.now();
      try {
        if (!client) {
          client = new pg.Client({ connectionString: await this.uri(), connectionTimeoutMillis: 1000, statement_timeout: 10_000, query_timeout: 10_000 });
          client.on('error', () => undefined);
          await client.connect();
        }
        const r = await client.query<{ port: number; addr: string | null }>(
          `INSERT INTO ${pg.escapeIdentifier(this.table)} (id) VALUES ($1) RETURNING inet_server_port() AS port, host(inet_server_addr()) AS addr`, [id]);
        this.acked.push(id);
        this.ackTimes.push(Date.now());
        this.ackServers.push(Number(r.rows[0]?.port ?? 0));
        this.ackAddresses.push(r.rows[0]?.addr ?? '');
        id++;
      } catch (e) {
        this.failures.push({ at: Date.now(), error: (e as Error).message });
        const c = client;
        client = null;
        await c?.end().catch(() => undefined);
        id++;
      }
      const wait = this.everyMs - (Date.now() - started);
      if (wait > 0) await new Promise((r) => setTimeout(r, wait));
    }
    await client?.end().catch(() => undefined);
  }
}

/**
 * Acknowledgements the old primary gave after another server had acknowledged a write: writes on the old timeline
 * once a new primary exists (they are lost, or worse, diverge). 0 is the only safe answer.
 */
export function acksOnOldPrimaryAfterPromotion(w: Pick<RowWriter, 'ackServers' | 'ackTimes'>, oldPort: number): number {
  const firstNew = w.ackServers.findIndex((p) => p !== oldPort);
  if (firstNew < 0) return 0;
  return w.ackServers.slice(firstNew).filter((p) => p === oldPort).length;
}

/** Which acknowledged ids are missing from the table now (data loss). */
export async function missingAcked(uri: string, acked: number[], table = 'writes'): Promise<number[]> {
  const c = new pg.Client({ connectionString: uri });
  c.on('error', () => undefined);
  await c.connect();
  try {
    const r = await c.query<{ id: number }>(`SELECT id FROM ${pg.escapeIdentifier(table)}`);
    const present = new Set(r.rows.map((x) => x.id));
    return acked.filter((id) => !present.has(id));
  } catch (e) {
    // The table itself is gone (its creation was lost in a failover): every acknowledged row is lost with it.
    if ((e as { code?: string }).code === '42P01') return [...acked];
    throw e;
  } finally {
    await c.end();
  }
}
