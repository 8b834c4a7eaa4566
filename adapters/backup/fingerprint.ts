// A table-count fingerprint: rows per user table (every database that accepts connections), counted in one
// REPEATABLE READ snapshot per database whose WAL position is recorded with it. The backup step takes it right
// after the backup; a restore rehearsal replays to the recorded position and must find the same counts. Tables are
// named through the driver's identifier escaping only; the counts are read-only.
import type pg from 'pg';
import type { TableFingerprint } from '../../crds/backupjob.js';
import { withClient, ident, type Endpoint } from '../sql/connect.js';
import { lsnDiff } from '../../machines/shared/lsn.js';

export const FINGERPRINT_TABLE_LIMIT = 500;
const COUNT_TIMEOUT_MS = 30 * 60_000;

type Counted = TableFingerprint['tables'][number];
const fullName = (t: Pick<Counted, 'database' | 'schema' | 'table'>) => `${t.database}.${t.schema}.${t.table}`;

/** Databases a fingerprint covers: every one that accepts connections, templates excluded. */
async function databases(c: pg.Client): Promise<string[]> {
  const r = await c.query<{ datname: string }>('SELECT datname FROM pg_database WHERE datallowconn AND NOT datistemplate ORDER BY datname');
  return r.rows.map((x) => x.datname);
}

/** Rows of every permanent user table of one database, in one snapshot; the snapshot's WAL position first. */
async function countDatabase(c: pg.Client, db: string): Promise<{ lsn: string; tables: Counted[] }> {
  await c.query('BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY');
  try {
    // The first statement takes the snapshot; the insert position read with it bounds every commit it sees.
    const lsn = (await c.query<{ lsn: string }>('SELECT pg_current_wal_insert_lsn()::text AS lsn')).rows[0]?.lsn ?? '0/0';
    const rels = await c.query<{ nspname: string; relname: string }>(
      `SELECT n.nspname, c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
        WHERE c.relkind = 'r' AND c.relpersistence = 'p'
          AND n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg\\_toast%' AND n.nspname NOT LIKE 'pg\\_temp%'
        ORDER BY n.nspname, c.relname`);
    const tables: Counted[] = [];
    for (const r of rels.rows) {
      const n = await c.query<{ n: string }>(`SELECT count(*)::bigint AS n FROM ${ident(r.nspname)}.${ident(r.relname)}`);
      tables.push({ database: db, schema: r.nspname, table: r.relname, rows: Number(n.rows[0]?.n ?? 0) });
    }
    return { lsn, tables };
  } finally {
    await c.query('ROLLBACK').catch(() => undefined);
  }
}

/**
 * The fingerprint of the instance at `ep` (any database name in it is ignored). Its LSN is the latest of the
 * databases' snapshot positions: replaying to it includes every row each database's snapshot counted.
 */
export async function takeFingerprint(ep: Endpoint, takenAt: () => string): Promise<TableFingerprint> {
  const dbs = await withClient(ep, databases);
  let lsn = '0/0';
  const all: Counted[] = [];
  for (const db of dbs) {
    const one = await withClient({ ...ep, database: db }, (c) => countDatabase(c, db), COUNT_TIMEOUT_MS);
    if (lsnDiff(one.lsn, lsn) > 0) lsn = one.lsn;
    all.push(...one.tables);
  }
  all.sort((a, b) => fullName(a).localeCompare(fullName(b)));
  return { lsn, takenAt: takenAt(), tables: all.slice(0, FINGERPRINT_TABLE_LIMIT), tablesTotal: all.length };
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
