// Names a PostgresUser or PostgresDatabase may not manage. Roles share one definition with the cluster's initdb
// owner (reserved-roles.ts); databases the operator manages itself are listed here.
export { isReservedRoleName as isReservedRole } from './reserved-roles.js';

/** Databases the operator manages itself. */
export const RESERVED_DATABASES = ['postgres', 'template0', 'template1'] as const;
export const isReservedDatabase = (name: string) => (RESERVED_DATABASES as readonly string[]).includes(name);
