// Renders and runs a database plan: database-level statements from the maintenance database (CREATE DATABASE
// cannot run in a transaction), everything inside the database in one transaction. Names through
// escapeIdentifier, values through escapeLiteral, privileges only from the CRD's whitelist. Re-runnable.
import type pg from 'pg';
import type { PostgresDatabaseSpec } from '../../crds/postgresdatabase.js';
import { PRIVILEGES } from '../../crds/postgresdatabase.js';
import type { DatabaseAction, GrantTarget } from '../../machines/database/database.types.js';
import { ident, literal } from './connect.js';
import { PermanentError } from '../platform.js';
import { assertManagedDatabase, assertName } from './sql-names.js';

const SERVER_LEVEL = new Set<DatabaseAction['kind']>(['createDatabase', 'alterDatabase', 'dropDatabase']);
export const isServerLevel = (a: DatabaseAction) => SERVER_LEVEL.has(a.kind);

function privileges(on: GrantTarget, list: string[]): string {
  const allowed = PRIVILEGES[on];
  const bad = list.filter((p) => !allowed.includes(p));
  if (bad.length || !list.length) throw new PermanentError(`privileges ${bad.join(', ') || '(none)'} do not apply to ${on}`);
  return list.join(', ');
}

const target = (db: string, on: GrantTarget, schema: string | null): string => {
  if (on === 'database') return `DATABASE ${ident(db)}`;
  if (!schema) throw new PermanentError(`a grant on ${on} needs a schema`);
  if (on === 'schema') return `SCHEMA ${ident(schema)}`;
  return `ALL ${on.toUpperCase()} IN SCHEMA ${ident(schema)}`;
};

export function renderServerLevel(spec: PostgresDatabaseSpec, a: DatabaseAction): string[] {
  const db = ident(spec.name);
  switch (a.kind) {
    case 'createDatabase': {
      assertName('template', spec.template ?? 'template1');
      const parts = [`CREATE DATABASE ${db}`, `OWNER ${ident(spec.owner)}`, `ENCODING ${literal(spec.encoding ?? 'UTF8')}`];
      if (spec.locale) parts.push(`LOCALE ${literal(spec.locale)}`);
      parts.push(`TEMPLATE ${ident(spec.template ?? 'template1')}`, `CONNECTION LIMIT ${Math.trunc(spec.connectionLimit ?? -1)}`, `ALLOW_CONNECTIONS ${spec.allowConnections === false ? 'false' : 'true'}`);
      return [parts.join(' ')];
    }
    case 'alterDatabase': return [
      ...(a.owner !== undefined ? [`ALTER DATABASE ${db} OWNER TO ${ident(a.owner)}`] : []),
      ...(a.connectionLimit !== undefined ? [`ALTER DATABASE ${db} WITH CONNECTION LIMIT ${Math.trunc(a.connectionLimit)}`] : []),
      ...(a.allowConnections !== undefined ? [`ALTER DATABASE ${db} WITH ALLOW_CONNECTIONS ${a.allowConnections ? 'true' : 'false'}`] : []),
    ];
    case 'dropDatabase': return [`DROP DATABASE IF EXISTS ${db} WITH (FORCE)`];
    default: return [];
  }
}

export function renderInDatabase(spec: PostgresDatabaseSpec, a: DatabaseAction): string {
  switch (a.kind) {
    case 'createSchema': return `CREATE SCHEMA IF NOT EXISTS ${ident(a.name)} AUTHORIZATION ${ident(a.owner)}`;
    case 'alterSchemaOwner': return `ALTER SCHEMA ${ident(a.name)} OWNER TO ${ident(a.owner)}`;
    case 'dropSchema': return `DROP SCHEMA IF EXISTS ${ident(a.name)} RESTRICT`;
    case 'createExtension':
      return `CREATE EXTENSION IF NOT EXISTS ${ident(a.name)}${a.schema ? ` WITH SCHEMA ${ident(a.schema)}` : ''}${a.version ? ` VERSION ${literal(a.version)}` : ''}`;
    case 'updateExtension': return `ALTER EXTENSION ${ident(a.name)} UPDATE TO ${literal(a.version)}`;
    case 'moveExtension': return `ALTER EXTENSION ${ident(a.name)} SET SCHEMA ${ident(a.schema)}`;
    case 'dropExtension': return `DROP EXTENSION IF EXISTS ${ident(a.name)} RESTRICT`;
    case 'grant': return `GRANT ${privileges(a.on, a.privileges)} ON ${target(spec.name, a.on, a.schema)} TO ${ident(a.role)}`;
    case 'revoke': return `REVOKE ${privileges(a.on, a.privileges)} ON ${target(spec.name, a.on, a.schema)} FROM ${ident(a.role)}`;
    case 'grantDefault':
      return `ALTER DEFAULT PRIVILEGES FOR ROLE ${ident(a.forRole)} IN SCHEMA ${ident(a.schema)} GRANT ${privileges(a.on, a.privileges)} ON ${a.on.toUpperCase()} TO ${ident(a.role)}`;
    case 'revokeDefault':
      return `ALTER DEFAULT PRIVILEGES FOR ROLE ${ident(a.forRole)} IN SCHEMA ${ident(a.schema)} REVOKE ${privileges(a.on, a.privileges)} ON ${a.on.toUpperCase()} FROM ${ident(a.role)}`;
    default: throw new Error(`${a.kind} is not an in-database action`);
  }
}

/** From the maintenance database: create / alter / drop the database itself. */
export async function applyServerLevel(c: pg.Client, spec: PostgresDatabaseSpec, actions: DatabaseAction[]): Promise<void> {
  assertManagedDatabase(spec.name);
  for (const a of actions.filter(isServerLevel)) {
    const exists = (await c.query('SELECT 1 FROM pg_database WHERE datname = $1', [spec.name])).rowCount === 1;
    if (a.kind === 'createDatabase' && exists) continue; // a re-run after a restore
    if (a.kind === 'alterDatabase' && !exists) throw new Error(`database ${JSON.stringify(spec.name)} disappeared while it was being applied`);
    for (const sql of renderServerLevel(spec, a)) await c.query(sql);
  }
}

/** Inside the database, in one transaction. */
export async function applyInDatabase(c: pg.Client, spec: PostgresDatabaseSpec, actions: DatabaseAction[]): Promise<void> {
  const inside = actions.filter((a) => !isServerLevel(a));
  if (!inside.length) return;
  await c.query('BEGIN');
  try {
    await c.query('SELECT pg_advisory_xact_lock(hashtext($1))', [`pgop-database:${spec.name}`]);
    for (const a of inside) await c.query(renderInDatabase(spec, a));
    await c.query('COMMIT');
  } catch (e) {
    await c.query('ROLLBACK').catch(() => undefined);
    throw e;
  }
}
