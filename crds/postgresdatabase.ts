// PostgresDatabase: one database, declaratively: owner, creation settings, extensions, schemas, grants, default
// privileges, reclaim policy.
import { Type, type Static } from '@sinclair/typebox';
import { Strict } from './schema-kit.js';
import { ClusterRef, CommonStatus, Ensure, ReclaimPolicy } from './common.js';
import { SqlName, fitsNameData } from './sql-names.js';
import { RESERVED_DATABASES } from './reserved-roles.js';
import type { ResourceDefinition, Resource } from './definition.js';

const Extension = Strict({
  name: SqlName('extension name'),
  version: Type.Optional(Type.String({ minLength: 1, maxLength: 64, pattern: '^[A-Za-z0-9._-]+$', 'x-pgop-hint': 'must be a version such as 1.6' })),
  schema: Type.Optional(SqlName('schema to install it in (at creation)')),
  ensure: Ensure,
});
const Schema = Strict({ name: SqlName('schema name'), owner: Type.Optional(SqlName('schema owner (default: the database owner)')), ensure: Ensure });

export const GRANT_TARGETS = ['database', 'schema', 'tables', 'sequences', 'functions'] as const;
export const PRIVILEGES: Record<(typeof GRANT_TARGETS)[number], readonly string[]> = {
  database: ['CREATE', 'CONNECT', 'TEMPORARY'],
  schema: ['USAGE', 'CREATE'],
  tables: ['SELECT', 'INSERT', 'UPDATE', 'DELETE', 'TRUNCATE', 'REFERENCES', 'TRIGGER'],
  sequences: ['USAGE', 'SELECT', 'UPDATE'],
  functions: ['EXECUTE'],
};
const Privilege = Type.Union([...new Set(Object.values(PRIVILEGES).flat())].map((p) => Type.Literal(p)));
const privilegesRule = (target: string) => `self.target != '${target}' || self.privileges.all(p, p in [${(PRIVILEGES[target as keyof typeof PRIVILEGES]).map((p) => `'${p}'`).join(', ')}])`;

const Grant = Strict({
  role: SqlName('grantee role'),
  // `target`, not `on`: YAML 1.1 parsers (kubectl's among them) read an unquoted `on` key as the boolean true.
  target: Type.Union(GRANT_TARGETS.map((t) => Type.Literal(t)), { description: 'database, a schema, or all tables / sequences / functions in a schema' }),
  schema: Type.Optional(SqlName('the schema (required unless target is database)')),
  privileges: Type.Array(Privilege, { minItems: 1, maxItems: 8, 'x-kubernetes-list-type': 'set' }),
}, {
  rules: [
    { rule: "self.target == 'database' ? !has(self.schema) : has(self.schema)", message: 'schema is required for schema, tables, sequences and functions, and not allowed for database', fieldPath: '.schema' },
    ...GRANT_TARGETS.map((t) => ({ rule: privilegesRule(t), message: `privileges on ${t} are ${PRIVILEGES[t].join(', ')}`, fieldPath: '.privileges' })),
  ],
});

const DEFAULT_TARGETS = ['tables', 'sequences', 'functions'] as const;
const DefaultPrivilege = Strict({
  role: SqlName('grantee role'),
  forRole: Type.Optional(SqlName('objects created by this role get the privileges (default: the database owner)')),
  schema: SqlName('in this schema'),
  target: Type.Union(DEFAULT_TARGETS.map((t) => Type.Literal(t))),
  privileges: Type.Array(Privilege, { minItems: 1, maxItems: 8, 'x-kubernetes-list-type': 'set' }),
}, { rules: DEFAULT_TARGETS.map((t) => ({ rule: privilegesRule(t), message: `privileges on ${t} are ${PRIVILEGES[t].join(', ')}`, fieldPath: '.privileges' })) });

const optionalImmutable = (f: string) => ({
  rule: `has(self.${f}) == has(oldSelf.${f}) && (!has(self.${f}) || self.${f} == oldSelf.${f})`,
  message: `is immutable: it applies when the database is created`, fieldPath: `.${f}`,
});

export const PostgresDatabaseSpec = Strict({
  cluster: ClusterRef,
  name: SqlName('database name in PostgreSQL (any text; the operator quotes it)'),
  owner: SqlName('owning role (it must exist, e.g. through a PostgresUser)'),
  ensure: Ensure,
  reclaimPolicy: ReclaimPolicy,
  encoding: Type.String({ default: 'UTF8', maxLength: 32, pattern: '^[A-Za-z0-9_-]+$', 'x-pgop-hint': 'must be an encoding name such as UTF8' }),
  locale: Type.Optional(Type.String({ maxLength: 64, pattern: '^[A-Za-z0-9_.@-]+$', 'x-pgop-hint': 'must be a locale name such as C or en_US.UTF-8' })),
  template: Type.String({ default: 'template1', maxLength: 63, pattern: '^[^\\x00]+$' }),
  connectionLimit: Type.Integer({ minimum: -1, maximum: 100000, default: -1 }),
  allowConnections: Type.Boolean({ default: true }),
  extensions: Type.Optional(Type.Array(Extension, { maxItems: 64, 'x-kubernetes-list-type': 'map', 'x-kubernetes-list-map-keys': ['name'] })),
  schemas: Type.Optional(Type.Array(Schema, { maxItems: 256, 'x-kubernetes-list-type': 'map', 'x-kubernetes-list-map-keys': ['name'] })),
  grants: Type.Optional(Type.Array(Grant, { maxItems: 256, description: 'Exactly these privileges for each role named here (others are revoked from it); roles not named are left alone' })),
  defaultPrivileges: Type.Optional(Type.Array(DefaultPrivilege, { maxItems: 128, description: 'ALTER DEFAULT PRIVILEGES, exactly, for each role named here' })),
}, {
  rules: [
    { rule: 'self.name == oldSelf.name', message: 'is immutable: rename the database in PostgreSQL and create a new resource', fieldPath: '.name' },
    { rule: 'self.cluster == oldSelf.cluster', message: 'is immutable', fieldPath: '.cluster' },
    { rule: 'self.encoding == oldSelf.encoding', message: 'is immutable: it applies when the database is created', fieldPath: '.encoding' },
    { rule: 'self.template == oldSelf.template', message: 'is immutable: it applies when the database is created', fieldPath: '.template' },
    optionalImmutable('locale'),
    { rule: `!(self.name in [${RESERVED_DATABASES.map((d) => `'${d}'`).join(', ')}])`, message: 'names a database the operator manages itself', fieldPath: '.name' },
    fitsNameData('name'),
    { rule: "!has(self.schemas) || self.schemas.all(s, !s.name.startsWith('pg_') && s.name != 'information_schema')", message: 'pg_* and information_schema are PostgreSQL\'s own schemas', fieldPath: '.schemas' },
  ],
});
export type PostgresDatabaseSpec = Static<typeof PostgresDatabaseSpec>;

export const PostgresDatabaseStatus = Type.Object({
  ...CommonStatus,
  phaseReason: Type.Optional(Type.String()),
  applied: Type.Optional(Type.Boolean()),
  lastError: Type.Optional(Type.String()),
  appliedOn: Type.Optional(Type.String()),
  /** When the last drift check found the database as declared (or corrected it). */
  lastChecked: Type.Optional(Type.String()),
  /** Times a drift check found the database changed by hand and corrected it. */
  driftCorrections: Type.Optional(Type.Integer()),
});
export type PostgresDatabase = Resource<PostgresDatabaseSpec, Static<typeof PostgresDatabaseStatus>>;

export const postgresDatabaseDefinition: ResourceDefinition = {
  kind: 'PostgresDatabase', plural: 'postgresdatabases', singular: 'postgresdatabase', shortNames: ['pgdb'], scope: 'Namespaced', categories: ['pgop', 'all'],
  spec: PostgresDatabaseSpec, status: PostgresDatabaseStatus,
  printerColumns: [
    { name: 'Cluster', type: 'string', jsonPath: '.spec.cluster.name' },
    { name: 'Database', type: 'string', jsonPath: '.spec.name' },
    { name: 'Owner', type: 'string', jsonPath: '.spec.owner' },
    { name: 'Phase', type: 'string', jsonPath: '.status.phase' },
    { name: 'Applied', type: 'boolean', jsonPath: '.status.applied' },
    { name: 'Age', type: 'date', jsonPath: '.metadata.creationTimestamp' },
  ],
};
