// Renders and runs a role plan in one transaction. Names are quoted with the driver's escapeIdentifier, values
// with escapeLiteral (utility statements take no bind parameters); the password is sent only as a SCRAM
// verifier. Every action tolerates a re-run (restore re-runs the effect): create checks existence first.
import type pg from 'pg';
import type { RoleAction } from '../../machines/user/user.types.js';
import { ident, literal } from './connect.js';
import { scramVerifier } from './scram.js';
import { assertManagedRole, assertGrantableRole } from './sql-names.js';

const validUntilSql = (v: string | null) => `VALID UNTIL ${literal(v ?? 'infinity')}`;

function render(role: string, a: RoleAction, password: string | null, verifier: string | undefined): string | null {
  const r = ident(role);
  switch (a.kind) {
    case 'createRole':
      return `CREATE ROLE ${r} WITH ${a.attributes.join(' ')} CONNECTION LIMIT ${Math.trunc(a.connectionLimit)} ${validUntilSql(a.validUntil)}`;
    case 'alterRole': {
      const parts: string[] = [...a.attributes];
      if (a.connectionLimit !== undefined) parts.push(`CONNECTION LIMIT ${Math.trunc(a.connectionLimit)}`);
      if (a.validUntil !== undefined) parts.push(validUntilSql(a.validUntil));
      return parts.length ? `ALTER ROLE ${r} WITH ${parts.join(' ')}` : null;
    }
    case 'setPassword':
      if (password === null) throw new Error('a password is needed but none was found');
      return `ALTER ROLE ${r} WITH PASSWORD ${literal(verifier ?? scramVerifier(password))}`;
    case 'clearPassword': return `ALTER ROLE ${r} WITH PASSWORD NULL`;
    case 'grantMembership': assertGrantableRole(a.role); return `GRANT ${ident(a.role)} TO ${r}`;
    case 'revokeMembership': return `REVOKE ${ident(a.role)} FROM ${r}`;
    case 'dropRole': return `DROP ROLE IF EXISTS ${r}`;
  }
}

/** `verifier`: the SCRAM verifier to store instead of one with a fresh salt (a sharded cluster's, the same on every shard). */
export async function applyRoleActions(c: pg.Client, role: string, actions: RoleAction[], password: string | null, verifier?: string): Promise<void> {
  assertManagedRole(role);
  await c.query('BEGIN');
  try {
    // Serialises two operators (old and new leader) working on the same role.
    await c.query('SELECT pg_advisory_xact_lock(hashtext($1))', [`pgop-role:${role}`]);
    const exists = (await c.query('SELECT 1 FROM pg_roles WHERE rolname = $1', [role])).rowCount === 1;
    for (const a of actions) {
      if (a.kind === 'createRole' && exists) continue;
      if (a.kind !== 'createRole' && a.kind !== 'dropRole' && !exists && !actions.some((x) => x.kind === 'createRole')) {
        throw new Error(`role ${JSON.stringify(role)} disappeared while it was being applied`);
      }
      const sql = render(role, a, password, verifier);
      if (sql) await c.query(sql);
    }
    await c.query('COMMIT');
  } catch (e) {
    await c.query('ROLLBACK').catch(() => undefined);
    throw e;
  }
}
