// The last door before SQL: names the operator refuses to manage, checked again where they are used.
import { PermanentError } from '../platform.js';
import { isReservedRole, isReservedDatabase } from '../../crds/reserved-roles.js';
import { checkSqlName } from '../../crds/sql-names.js';

function check(what: string, name: string): void {
  try { checkSqlName(what, name); } catch (e) { throw new PermanentError((e as Error).message); }
}

export function assertManagedRole(name: string): void {
  check('role name', name);
  if (isReservedRole(name)) throw new PermanentError(`role ${JSON.stringify(name)} is reserved for PostgreSQL or the operator; choose another name`);
}

/** Membership targets: PostgreSQL's predefined roles are fine, the operator's own are not. */
export function assertGrantableRole(name: string): void {
  check('role name', name);
  if (name === 'postgres' || name === 'streaming_replica' || name.startsWith('pgop_')) {
    throw new PermanentError(`membership in ${JSON.stringify(name)} is not allowed: it belongs to the operator`);
  }
}

export function assertManagedDatabase(name: string): void {
  check('database name', name);
  if (isReservedDatabase(name)) throw new PermanentError(`database ${JSON.stringify(name)} is managed by the operator itself`);
}

export const assertName = check;
