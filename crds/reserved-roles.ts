// Role and database names a manifest may not claim: the operator's own roles (the superuser it connects as, the replication
// role), PostgreSQL's reserved names and the pg_ namespace. One predicate for code (the agent, controllers) and
// one CEL snippet for schemas (PostgresCluster's initdb owner; PostgresUser names can reuse it).
import type { CelRule } from './schema-kit.js';

/** Kept in step with instance/spec.ts SUPERUSER and REPLICATION_USER (a unit test checks). */
export const OPERATOR_ROLES = ['postgres', 'streaming_replica'] as const;
/** CREATE ROLE refuses these outright; refusing them at the door gives a clearer message. */
export const POSTGRES_RESERVED_ROLES = ['public', 'none', 'current_role', 'current_user', 'session_user'] as const;
/** pg_ is PostgreSQL's; pgop_ is kept for roles the operator may add (pooler, monitoring). */
export const RESERVED_ROLE_PREFIXES = ['pg_', 'pgop_'] as const;

const RESERVED: readonly string[] = [...OPERATOR_ROLES, ...POSTGRES_RESERVED_ROLES];

/** Compared lower-cased: `Postgres` would be a different role once quoted, but it is a trap either way. */
export function isReservedRoleName(name: string): boolean {
  const lower = name.toLowerCase();
  return RESERVED.includes(lower) || RESERVED_ROLE_PREFIXES.some((p) => lower.startsWith(p));
}

export const reservedRoleProblem = (name: string): string | null => (isReservedRoleName(name)
  ? `role name "${name}" is reserved (${[...RESERVED].join(', ')} and names starting with ${RESERVED_ROLE_PREFIXES.join(' or ')} belong to the operator or PostgreSQL); choose another name`
  : null);

/** CEL that is true when `expr` (a string, e.g. `self` or `self.name`) is not a reserved role name. */
export const notReservedRoleCel = (expr = 'self'): string =>
  `!(${expr}.lowerAscii() in [${RESERVED.map((r) => `'${r}'`).join(', ')}]) && ${RESERVED_ROLE_PREFIXES.map((p) => `!${expr}.lowerAscii().startsWith('${p}')`).join(' && ')}`;

/** The rule for a role-name field; fieldPath is relative to the node carrying the rule. */
export const reservedRoleRule = (expr = 'self', fieldPath?: string): CelRule => ({
  rule: notReservedRoleCel(expr),
  message: `is a reserved role name (${[...RESERVED].join(', ')}, or starting with ${RESERVED_ROLE_PREFIXES.join(' or ')}); choose another name`,
  ...(fieldPath ? { fieldPath } : {}),
});

/** The short name PostgresUser code uses. */
export const isReservedRole = isReservedRoleName;

/** Databases the operator manages itself: a PostgresDatabase may not claim them. */
export const RESERVED_DATABASES = ['postgres', 'template0', 'template1'] as const;
export const isReservedDatabase = (name: string) => (RESERVED_DATABASES as readonly string[]).includes(name);
