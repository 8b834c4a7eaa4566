// What PostgreSQL has for one database: the pg_database row (from any database), then, inside the database,
// its extensions, schemas, and the privileges of the roles the spec manages (aclexplode over the catalogs).
import type pg from 'pg';
import type { DefaultTarget, GrantTarget, ObservedDatabase, ObservedDefault, ObservedGrant } from '../../machines/database/database.types.js';
import { PRIVILEGES } from '../../crds/postgresdatabase.js';

const USER_SCHEMA = "n.nspname !~ '^pg_' AND n.nspname <> 'information_schema'";
const DEFAULT_KINDS: Record<string, DefaultTarget> = { r: 'tables', S: 'sequences', f: 'functions' };

export interface DatabaseRow { owner: string; encoding: string; connectionLimit: number; allowConnections: boolean; dbGrants: ObservedGrant[] }

export async function readDatabaseRow(c: pg.Client, name: string, grantees: string[]): Promise<DatabaseRow | null> {
  const r = await c.query<{ owner: string; encoding: string; datconnlimit: number; datallowconn: boolean }>(
    'SELECT pg_get_userbyid(datdba) AS owner, pg_encoding_to_char(encoding) AS encoding, datconnlimit, datallowconn FROM pg_database WHERE datname = $1', [name]);
  const row = r.rows[0];
  if (!row) return null;
  const g = await c.query<{ role: string; privs: string[] }>(`
    SELECT g.rolname::text AS role, array_agg(DISTINCT a.privilege_type ORDER BY a.privilege_type) AS privs
      FROM pg_database d CROSS JOIN LATERAL aclexplode(d.datacl) a JOIN pg_roles g ON g.oid = a.grantee
     WHERE d.datname = $1 AND g.rolname = ANY($2::text[]) GROUP BY 1`, [name, grantees]);
  return {
    owner: row.owner, encoding: row.encoding, connectionLimit: row.datconnlimit, allowConnections: row.datallowconn,
    dbGrants: g.rows.map((x) => ({ role: x.role, on: 'database', schema: null, all: x.privs, any: x.privs })),
  };
}

/** Inside the database. `grantees` / `defaultGrantees` are the roles whose privileges the resource manages. */
export async function readDatabaseContents(c: pg.Client, grantees: string[], defaultGrantees: string[]): Promise<Pick<ObservedDatabase, 'extensions' | 'schemas' | 'grants' | 'defaults'>> {
  const extensions = (await c.query<{ name: string; version: string; schema: string }>(
    'SELECT e.extname::text AS name, e.extversion AS version, n.nspname::text AS schema FROM pg_extension e JOIN pg_namespace n ON n.oid = e.extnamespace ORDER BY 1')).rows;
  const schemas = (await c.query<{ name: string; owner: string }>(
    `SELECT n.nspname::text AS name, pg_get_userbyid(n.nspowner)::text AS owner FROM pg_namespace n WHERE ${USER_SCHEMA} ORDER BY 1`)).rows;

  const grants: ObservedGrant[] = [];
  if (grantees.length) {
    const sg = await c.query<{ role: string; schema: string; privs: string[] }>(`
      SELECT g.rolname::text AS role, n.nspname::text AS schema, array_agg(DISTINCT a.privilege_type ORDER BY a.privilege_type) AS privs
        FROM pg_namespace n CROSS JOIN LATERAL aclexplode(n.nspacl) a JOIN pg_roles g ON g.oid = a.grantee
       WHERE ${USER_SCHEMA} AND g.rolname = ANY($1::text[]) GROUP BY 1, 2`, [grantees]);
    for (const x of sg.rows) grants.push({ role: x.role, on: 'schema', schema: x.schema, all: x.privs, any: x.privs });

    // Per (schema, kind): which privileges a grantee holds on some object (any) and on every object (all).
    const objs = await c.query<{ schema: string; kind: GrantTarget; role: string | null; priv: string | null; on_all: boolean | null }>(`
      WITH objs AS (
        SELECT c.oid, c.relnamespace AS nsp, 'tables' AS kind, c.relacl AS acl FROM pg_class c WHERE c.relkind IN ('r', 'p', 'v', 'm', 'f')
        UNION ALL SELECT c.oid, c.relnamespace, 'sequences', c.relacl FROM pg_class c WHERE c.relkind = 'S'
        UNION ALL SELECT p.oid, p.pronamespace, 'functions', p.proacl FROM pg_proc p WHERE p.prokind IN ('f', 'a', 'w')),
      totals AS (SELECT nsp, kind, count(*) AS total FROM objs GROUP BY 1, 2),
      per AS (
        SELECT o.nsp, o.kind, g.rolname::text AS role, a.privilege_type AS priv, count(DISTINCT o.oid) AS n
          FROM objs o CROSS JOIN LATERAL aclexplode(o.acl) a JOIN pg_roles g ON g.oid = a.grantee
         WHERE g.rolname = ANY($1::text[]) GROUP BY 1, 2, 3, 4)
      SELECT n.nspname::text AS schema, t.kind, per.role, per.priv, per.n = t.total AS on_all
        FROM totals t JOIN pg_namespace n ON n.oid = t.nsp LEFT JOIN per ON per.nsp = t.nsp AND per.kind = t.kind
       WHERE ${USER_SCHEMA}`, [grantees]);
    const seen = new Map<string, ObservedGrant>();
    for (const x of objs.rows) {
      if (!x.role || !x.priv) continue;
      const k = JSON.stringify([x.role, x.kind, x.schema]);
      const g = seen.get(k) ?? { role: x.role, on: x.kind, schema: x.schema, all: [], any: [] };
      g.any.push(x.priv);
      if (x.on_all) g.all.push(x.priv);
      seen.set(k, g);
    }
    grants.push(...seen.values());
    // A schema with no objects of a kind: every grant on "all of them" already holds.
    const populated = new Set(objs.rows.map((x) => JSON.stringify([x.kind, x.schema])));
    for (const s of schemas) {
      for (const kind of ['tables', 'sequences', 'functions'] as const) {
        if (populated.has(JSON.stringify([kind, s.name]))) continue;
        for (const role of grantees) grants.push({ role, on: kind, schema: s.name, all: [...PRIVILEGES[kind]], any: [] });
      }
    }
  }

  const defaults: ObservedDefault[] = [];
  if (defaultGrantees.length) {
    const d = await c.query<{ role: string; for_role: string; schema: string; t: string; privs: string[] }>(`
      SELECT g.rolname::text AS role, pg_get_userbyid(d.defaclrole)::text AS for_role, n.nspname::text AS schema, d.defaclobjtype::text AS t,
             array_agg(DISTINCT a.privilege_type ORDER BY a.privilege_type) AS privs
        FROM pg_default_acl d JOIN pg_namespace n ON n.oid = d.defaclnamespace
        CROSS JOIN LATERAL aclexplode(d.defaclacl) a JOIN pg_roles g ON g.oid = a.grantee
       WHERE g.rolname = ANY($1::text[]) GROUP BY 1, 2, 3, 4`, [defaultGrantees]);
    for (const x of d.rows) {
      const on = DEFAULT_KINDS[x.t];
      if (on) defaults.push({ role: x.role, forRole: x.for_role, schema: x.schema, on, privileges: x.privs });
    }
  }
  return { extensions, schemas, grants, defaults };
}
