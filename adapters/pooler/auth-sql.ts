// The pooler's auth role and lookup function, on the primary (replicas get them by replication). PgBouncer logs in
// as pgop_pooler and runs auth_query to fetch a client's SCRAM verifier; the SECURITY DEFINER function hands out
// verifiers of ordinary login roles only — never a superuser's, the replication role's or the operator's own —
// so the auth role needs no read access to pg_authid. auth_query runs in the database the client asks for, so
// the function is installed in every connectable database and in template1 (new databases inherit it).
import type pg from 'pg';
import { withClient, ident, type Endpoint } from '../sql/connect.js';
import { ensureRole } from '../sql/roles.js';
import { AUTH_USER } from './pgbouncer-config.js';

const FUNCTION_SQL = `
CREATE SCHEMA IF NOT EXISTS pgop_pooler;
REVOKE ALL ON SCHEMA pgop_pooler FROM PUBLIC;
CREATE OR REPLACE FUNCTION pgop_pooler.get_auth(p_usename text)
  RETURNS TABLE (usename name, passwd text)
  LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog
AS $fn$
  SELECT a.rolname, a.rolpassword::text FROM pg_catalog.pg_authid a
   WHERE a.rolname = p_usename AND a.rolcanlogin AND NOT a.rolsuper AND NOT a.rolreplication AND NOT a.rolbypassrls
     AND a.rolname NOT LIKE 'pgop\\_%' AND a.rolname NOT LIKE 'pg\\_%'
     AND (a.rolvaliduntil IS NULL OR a.rolvaliduntil > now())
$fn$;
REVOKE ALL ON FUNCTION pgop_pooler.get_auth(text) FROM PUBLIC;`;

async function installFunction(c: pg.Client): Promise<void> {
  await c.query(FUNCTION_SQL);
  await c.query(`GRANT USAGE ON SCHEMA pgop_pooler TO ${ident(AUTH_USER)}`);
  await c.query(`GRANT EXECUTE ON FUNCTION pgop_pooler.get_auth(text) TO ${ident(AUTH_USER)}`);
}

/** Ensures the role (password from the operator's secret) and the function; returns the connectable databases. */
export async function ensurePoolerAuth(primary: Endpoint, password: string): Promise<string[]> {
  const databases = await withClient(primary, async (c) => {
    await ensureRole(c, AUTH_USER, password, ['LOGIN', 'NOSUPERUSER', 'NOCREATEDB', 'NOCREATEROLE', 'NOREPLICATION', 'NOBYPASSRLS', 'CONNECTION LIMIT 50']);
    const r = await c.query<{ datname: string }>('SELECT datname FROM pg_database WHERE datallowconn ORDER BY datname');
    return r.rows.map((x) => x.datname);
  });
  for (const db of databases) await withClient({ ...primary, database: db }, installFunction);
  return databases.filter((d) => d !== 'template1');
}
