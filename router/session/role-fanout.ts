// CREATE/ALTER ROLE ... PASSWORD through the router: PostgreSQL salts each hash anew, but the router logs in to every
// shard with the key one client proof reveals, so every shard must hold the same verifier. The first shard hashes
// the password; the others get its verifier (PostgreSQL stores a SCRAM verifier given as the password as is).
import { parseSync } from 'libpg-query';
import { deparseSync } from 'pgsql-deparser';

type Node = Record<string, unknown>;
const isObj = (v: unknown): v is Node => typeof v === 'object' && v !== null && !Array.isArray(v);

export async function roleWithVerifier(sql: string, verifierOf: (role: string) => Promise<string | null>): Promise<string> {
  const tree = parseSync(sql) as { stmts: { stmt: Node }[] };
  const stmt = tree.stmts[0]!.stmt;
  const body = (stmt.CreateRoleStmt ?? stmt.AlterRoleStmt) as Node;
  const roleField = body.role;
  const role = typeof roleField === 'string' ? roleField : isObj(roleField) ? String((isObj(roleField.RoleSpec) ? roleField.RoleSpec : roleField).rolename ?? '') : '';
  const verifier = role ? await verifierOf(role) : null;
  if (!verifier) throw Object.assign(new Error(`role "${role}" has no SCRAM verifier on the first shard after the statement; the other shards were not changed`), { sqlstate: '28000' });
  for (const o of (body.options as unknown[] | undefined) ?? []) {
    const d = isObj(o) && isObj(o.DefElem) ? o.DefElem : null;
    if (d?.defname === 'password' && isObj(d.arg) && isObj(d.arg.String)) d.arg.String.sval = verifier;
  }
  return deparseSync(tree as never);
}
