// A table-count fingerprint: rows per user table (every database that accepts connections), exact at a named
// restore point. Counting in a plain snapshot and replaying to "its" WAL position is not exact on a busy cluster:
// databases need one snapshot each (taken at different moments), and even in one database a commit whose WAL
// record is already written is invisible until it leaves the proc array (a window as long as the commit's fsync or
// synchronous-replication wait), yet replay applies it. So every counted table is first locked in SHARE mode
// (writers to it have finished and new ones wait), a snapshot is taken and exported in each database, one restore
// point is written while all locks are held, and the locks are released at once: counting then runs in the
// exported snapshots without blocking anyone. Replaying to that restore point (recovery_target_name) applies
// exactly the commits those snapshots see (ADR 0040). Tables are named through the driver's identifier escaping
// only; the counts are read-only.
import pg from 'pg';
import type { TableFingerprint } from '../../crds/backupjob.js';
import { withClient, ident, literal, tlsOptions, type Endpoint } from '../sql/connect.js';

export const FINGERPRINT_TABLE_LIMIT = 500;
const COUNT_TIMEOUT_MS = 30 * 60_000;
/** How long the SHARE locks may wait for writers already running (new writers queue behind the request). */
const LOCK_TIMEOUT_MS = 5_000;
const LOCK_ATTEMPTS = 5;

type Counted = TableFingerprint['tables'][number];
type Named = Pick<Counted, 'database' | 'schema' | 'table'>;
const fullName = (t: Named) => `${t.database}.${t.schema}.${t.table}`;

/** Databases a fingerprint covers: every one that accepts connections, templates excluded. */
async function databases(c: pg.Client): Promise<string[]> {
  const r = await c.query<{ datname: string }>('SELECT datname FROM pg_database WHERE datallowconn AND NOT datistemplate ORDER BY datname');
  return r.rows.map((x) => x.datname);
}

/** Permanent user tables of one database. */
async function userTables(c: pg.Client, db: string): Promise<Named[]> {
  const rels = await c.query<{ nspname: string; relname: string }>(
    `SELECT n.nspname, c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
      WHERE c.relkind = 'r' AND c.relpersistence = 'p'
        AND n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg\\_toast%' AND n.nspname NOT LIKE 'pg\\_temp%'
      ORDER BY n.nspname, c.relname`);
  return rels.rows.map((r) => ({ database: db, schema: r.nspname, table: r.relname }));
}

/** A client kept open across several steps (withClient scopes one callback; here every database needs two at once). */
async function open(ep: Endpoint, database: string): Promise<pg.Client> {
  const c = new pg.Client({
    host: ep.host, port: ep.port, user: ep.user, password: ep.password, database,
    connectionTimeoutMillis: 10_000, statement_timeout: COUNT_TIMEOUT_MS, application_name: 'pgop-fingerprint',
    ...(ep.tls ? { ssl: tlsOptions(ep.tls) } : {}),
  });
  c.on('error', () => { /* surfaces on the pending query */ });
  await c.connect();
  return c;
}

const transient = (e: unknown) => {
  const code = (e as { code?: string }).code;
  // lock_not_available (lock_timeout), deadlock_detected, undefined_table (dropped since it was listed)
  return code === '55P03' || code === '40P01' || code === '42P01';
};

/** Locks, snapshots and the restore point; returns the restore point's LSN and one counting client per database. */
async function freeze(ep: Endpoint, byDb: Map<string, Named[]>, restorePoint: string): Promise<{ lsn: string; counters: Map<string, pg.Client> }> {
  const lockers: pg.Client[] = [];
  const counters = new Map<string, pg.Client>();
  try {
    const snapshots = new Map<string, string>();
    for (const [db, tables] of byDb) {
      const c = await open(ep, db);
      lockers.push(c);
      // LOCK and SET take no snapshot: the transaction's snapshot is taken by the export, after every lock is held.
      await c.query('BEGIN ISOLATION LEVEL REPEATABLE READ');
      await c.query(`SET LOCAL lock_timeout = ${LOCK_TIMEOUT_MS}`);
      await c.query(`LOCK TABLE ${tables.map((t) => `${ident(t.schema)}.${ident(t.table)}`).join(', ')} IN SHARE MODE`);
      snapshots.set(db, (await c.query<{ s: string }>('SELECT pg_export_snapshot() AS s')).rows[0]!.s);
    }
    const lsn = await withClient(ep, async (c) =>
      (await c.query<{ lsn: string }>('SELECT pg_create_restore_point($1)::text AS lsn', [restorePoint])).rows[0]!.lsn, 10_000);
    for (const [db, snapshot] of snapshots) {
      const c = await open(ep, db);
      counters.set(db, c);
      await c.query('BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY');
      await c.query(`SET TRANSACTION SNAPSHOT ${literal(snapshot)}`);
    }
    return { lsn, counters };
  } catch (e) {
    for (const c of counters.values()) await c.end().catch(() => undefined);
    throw e;
  } finally {
    // Ending the locking transactions lets the writers queued behind them go on; the snapshots live on in `counters`.
    for (const c of lockers) { await c.query('ROLLBACK').catch(() => undefined); await c.end().catch(() => undefined); }
  }
}

/**
 * The fingerprint of the instance at `ep` (the primary; any database name in it is ignored), exact at the named
 * restore point `restorePoint`, which this writes: its name must be new in the cluster's WAL.
 */
export async function takeFingerprint(ep: Endpoint, restorePoint: string, takenAt: () => string): Promise<TableFingerprint> {
  for (let attempt = 1; ; attempt++) {
    const all: Named[] = [];
    for (const db of await withClient(ep, databases)) all.push(...await withClient({ ...ep, database: db }, (c) => userTables(c, db), 10_000));
    all.sort((a, b) => fullName(a).localeCompare(fullName(b)));
    const byDb = new Map<string, Named[]>();
    for (const t of all.slice(0, FINGERPRINT_TABLE_LIMIT)) byDb.set(t.database, [...(byDb.get(t.database) ?? []), t]);
    // A retry after a lock timeout writes a restore point of its own: a rehearsal stops at the first of a name.
    const name = attempt === 1 ? restorePoint : `${restorePoint.slice(0, 60)}-${attempt}`;
    let frozen: Awaited<ReturnType<typeof freeze>>;
    try {
      frozen = await freeze(ep, byDb, name);
    } catch (e) {
      if (attempt < LOCK_ATTEMPTS && transient(e)) continue;
      throw e;
    }
    const tables: Counted[] = [];
    try {
      for (const [db, c] of frozen.counters) {
        for (const t of byDb.get(db) ?? []) {
          const n = await c.query<{ n: string }>(`SELECT count(*)::bigint AS n FROM ${ident(t.schema)}.${ident(t.table)}`);
          tables.push({ ...t, rows: Number(n.rows[0]?.n ?? 0) });
        }
      }
    } finally {
      for (const c of frozen.counters.values()) { await c.query('ROLLBACK').catch(() => undefined); await c.end().catch(() => undefined); }
    }
    return { lsn: frozen.lsn, restorePoint: name, takenAt: takenAt(), tables, tablesTotal: all.length };
  }
}

/** Counts of the restored copy for the tables the fingerprint names, keyed database.schema.table (null: absent). */
export async function countTables(ep: Endpoint, names: Pick<Counted, 'database' | 'schema' | 'table'>[]): Promise<Map<string, number | null>> {
  const out = new Map<string, number | null>();
  const byDb = new Map<string, { schema: string; table: string; full: string }[]>();
  for (const t of names) byDb.set(t.database, [...(byDb.get(t.database) ?? []), { schema: t.schema, table: t.table, full: fullName(t) }]);
  for (const [db, tables] of byDb) {
    const present = await withClient(ep, async (c) => (await c.query<{ datname: string }>('SELECT datname FROM pg_database WHERE datname = $1', [db])).rowCount === 1);
    if (!present) { for (const t of tables) out.set(t.full, null); continue; }
    await withClient({ ...ep, database: db }, async (c) => {
      for (const t of tables) {
        const exists = await c.query('SELECT 1 FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = $1 AND c.relname = $2', [t.schema, t.table]);
        if (!exists.rowCount) { out.set(t.full, null); continue; }
        const n = await c.query<{ n: string }>(`SELECT count(*)::bigint AS n FROM ${ident(t.schema)}.${ident(t.table)}`);
        out.set(t.full, Number(n.rows[0]?.n ?? 0));
      }
    }, COUNT_TIMEOUT_MS);
  }
  return out;
}

/** What differs between the recorded fingerprint and the restored counts, as readable lines (empty: a match). */
export function fingerprintMismatches(recorded: TableFingerprint, restored: Map<string, number | null>): string[] {
  const out: string[] = [];
  for (const t of recorded.tables) {
    const got = restored.get(fullName(t));
    if (got === undefined || got === null) out.push(`${fullName(t)}: missing (expected ${t.rows} rows)`);
    else if (got !== t.rows) out.push(`${fullName(t)}: ${got} rows (expected ${t.rows})`);
  }
  return out;
}
