// The router's lookup role and function (ADR 0039), on the primary of the cluster whose roles check logins (a
// sharded cluster's first shard, or the unsharded cluster itself); replicas get them by replication. The router logs
// in as pgop_router — LOGIN and nothing else — and reads a client's SCRAM verifier through a SECURITY DEFINER
// function, the Pooler's auth_query pattern (adapters/pooler/auth-sql.ts) with its own role and schema so that the
// router's credentials and the poolers' rotate and disappear independently. The function hands out verifiers of
// ordinary roles only: never a superuser's, a replication or BYPASSRLS role's, the operator's own (pgop_*) or
// PostgreSQL's predefined ones (pg_*) — those cannot log in through the router, whatever their password.
// The router only needs it in the database it connects to for the lookup (auth.database, 'postgres').
import type pg from 'pg';
import { withClient, ident, type Endpoint } from '../sql/connect.js';
import { ensureRole } from '../sql/roles.js';
import { verifierMatches } from '../sql/scram-match.js';

export const ROUTER_AUTH_USER = 'pgop_router';
export const ROUTER_AUTH_DATABASE = 'postgres';

/**
 * `can_login`: the role may log in now (LOGIN, not expired) — the router's login check. Roles without LOGIN are
 * returned too (can_login false), because the router's role fan-out copies a verifier set by CREATE ROLE ... PASSWORD
 * to the other shards whether or not the role logs in.
 */
const FUNCTION_SQL = `
CREATE SCHEMA IF NOT EXISTS pgop_router;
REVOKE ALL ON SCHEMA pgop_router FROM PUBLIC;
CREATE OR REPLACE FUNCTION pgop_router.lookup(p_rolname text)
  RETURNS TABLE (passwd text, can_login boolean)
  LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog
AS $fn$
  SELECT a.rolpassword::text, a.rolcanlogin AND (a.rolvaliduntil IS NULL OR a.rolvaliduntil > now())
    FROM pg_catalog.pg_authid a
   WHERE a.rolname = p_rolname AND NOT a.rolsuper AND NOT a.rolreplication AND NOT a.rolbypassrls
     AND a.rolname NOT LIKE 'pgop\\_%' AND a.rolname NOT LIKE 'pg\\_%'
$fn$;
REVOKE ALL ON FUNCTION pgop_router.lookup(text) FROM PUBLIC;`;

/** The role may log in and nothing else: no superuser, no catalog rights, a few connections (the router uses 2). */
const ROLE_ATTRIBUTES = ['LOGIN', 'NOSUPERUSER', 'NOCREATEDB', 'NOCREATEROLE', 'NOREPLICATION', 'NOBYPASSRLS', 'NOINHERIT', 'CONNECTION LIMIT 20'];

async function installFunction(c: pg.Client): Promise<void> {
  await c.query(FUNCTION_SQL);
  await c.query(`GRANT USAGE ON SCHEMA pgop_router TO ${ident(ROUTER_AUTH_USER)}`);
  await c.query(`GRANT EXECUTE ON FUNCTION pgop_router.lookup(text) TO ${ident(ROUTER_AUTH_USER)}`);
}

/**
 * Ensures the role and the function. The password comes from the operator's secret (rotation = change the secret);
 * a role that already has it is left alone, so a periodic call writes nothing to the catalog.
 */
export async function ensureRouterAuth(primary: Endpoint, password: string): Promise<'created' | 'unchanged'> {
  return withClient({ ...primary, database: ROUTER_AUTH_DATABASE }, async (c) => {
    const r = await c.query<{ rolpassword: string | null; ok: boolean; granted: boolean }>(
      `SELECT a.rolpassword, NOT a.rolsuper AND a.rolcanlogin AND NOT a.rolcreaterole AND NOT a.rolcreatedb AND NOT a.rolreplication AND NOT a.rolbypassrls AS ok,
              coalesce(has_function_privilege(a.oid, to_regprocedure('pgop_router.lookup(text)'), 'EXECUTE'), false) AS granted
         FROM pg_catalog.pg_authid a WHERE a.rolname = $1`, [ROUTER_AUTH_USER]);
    const row = r.rows[0];
    if (row && row.ok && row.granted && verifierMatches(password, row.rolpassword)) return 'unchanged';
    await ensureRole(c, ROUTER_AUTH_USER, password, ROLE_ATTRIBUTES);
    await installFunction(c);
    return 'created';
  });
}
