// What PostgreSQL has for one role: attributes from pg_roles, the verifier from pg_authid, memberships from
// pg_auth_members. Runs as the superuser on the primary.
import type pg from 'pg';
import type { ObservedRole } from '../../machines/user/user.types.js';
import { verifierMatches } from './scram-match.js';

const iso = (v: unknown): string | null => {
  if (v === null || v === undefined) return null;
  if (v instanceof Date) return Number.isFinite(v.getTime()) ? v.toISOString() : null;
  if (typeof v === 'number' && !Number.isFinite(v)) return null; // 'infinity': never expires, as with no VALID UNTIL
  return String(v);
};

/**
 * null when the role does not exist. `password` undefined means "do not compare" (no password wanted).
 * `expectedVerifier`: the password matches only when the stored verifier is exactly this one (a sharded cluster's
 * roles carry one verifier on every shard, salt included).
 */
export async function readRole(c: pg.Client, name: string, password: string | null, expectedVerifier?: string): Promise<ObservedRole | null> {
  const r = await c.query<{
    rolsuper: boolean; rolinherit: boolean; rolcreaterole: boolean; rolcreatedb: boolean; rolcanlogin: boolean;
    rolreplication: boolean; rolbypassrls: boolean; rolconnlimit: number; rolvaliduntil: unknown; rolpassword: string | null; member_of: string[];
  }>(`SELECT a.rolsuper, a.rolinherit, a.rolcreaterole, a.rolcreatedb, a.rolcanlogin, a.rolreplication, a.rolbypassrls,
            a.rolconnlimit, a.rolvaliduntil, a.rolpassword,
            ARRAY(SELECT g.rolname::text FROM pg_auth_members m JOIN pg_roles g ON g.oid = m.roleid WHERE m.member = a.oid ORDER BY 1) AS member_of
       FROM pg_authid a WHERE a.rolname = $1`, [name]);
  const row = r.rows[0];
  if (!row) return null;
  return {
    superuser: row.rolsuper, inherit: row.rolinherit, createrole: row.rolcreaterole, createdb: row.rolcreatedb,
    login: row.rolcanlogin, replication: row.rolreplication, bypassrls: row.rolbypassrls,
    connectionLimit: row.rolconnlimit, validUntil: iso(row.rolvaliduntil), memberOf: row.member_of,
    passwordMatches: row.rolpassword === null ? null : password === null ? false
      : expectedVerifier !== undefined ? row.rolpassword === expectedVerifier : verifierMatches(password, row.rolpassword),
  };
}

export async function missingRoles(c: pg.Client, names: string[]): Promise<string[]> {
  if (!names.length) return [];
  const r = await c.query<{ name: string }>('SELECT n AS name FROM unnest($1::text[]) n WHERE NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = n) ORDER BY 1', [names]);
  return r.rows.map((x) => x.name);
}

/** The operator acts on the primary only; a demoted or fenced instance must not take the change. */
export async function assertPrimary(c: pg.Client, instance: string): Promise<void> {
  const r = await c.query<{ recovery: boolean }>('SELECT pg_is_in_recovery() AS recovery');
  if (r.rows[0]?.recovery !== false) throw new Error(`instance ${instance} is not the primary (in recovery)`);
}
