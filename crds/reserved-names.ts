// Role names the operator or PostgreSQL own. A PostgresUser may not manage them: checked by CEL in the CRD, by
// local admission (the same CEL) and again in the SQL adapter right before any statement runs.
// (Written here because the shared reserved-name predicate from sec-config was not visible yet; merge into it.)
import type { CelRule } from './schema-kit.js';

/** Exact names: the superuser and the replication role the agents use. */
export const RESERVED_ROLES = ['postgres', 'streaming_replica'] as const;
/** Prefixes: PostgreSQL's predefined roles, and the roles pgop itself creates. */
export const RESERVED_ROLE_PREFIXES = ['pg_', 'pgop_'] as const;

export function isReservedRole(name: string): boolean {
  return (RESERVED_ROLES as readonly string[]).includes(name) || RESERVED_ROLE_PREFIXES.some((p) => name.startsWith(p));
}

/** The same predicate as a CEL rule over a string field `field` of self. */
export const reservedRoleRule = (field: string): CelRule => ({
  rule: `!(self.${field} in [${RESERVED_ROLES.map((r) => `'${r}'`).join(', ')}]) && ${RESERVED_ROLE_PREFIXES.map((p) => `!self.${field}.startsWith('${p}')`).join(' && ')}`,
  message: `names a role the operator or PostgreSQL owns (${RESERVED_ROLES.join(', ')}, ${RESERVED_ROLE_PREFIXES.map((p) => `${p}*`).join(', ')}); choose another name`,
  fieldPath: `.${field}`,
});

/** Databases the operator manages itself. */
export const RESERVED_DATABASES = ['postgres', 'template0', 'template1'] as const;
export const isReservedDatabase = (name: string) => (RESERVED_DATABASES as readonly string[]).includes(name);
