// PostgresDatabase: one database, declaratively: owner, encoding, extensions, schemas, reclaim policy.
import { Type, type Static } from '@sinclair/typebox';
import { Strict } from './schema-kit.js';
import { ClusterRef, CommonStatus, Ensure, ReclaimPolicy, PgIdentifier } from './common.js';
import type { ResourceDefinition, Resource } from './definition.js';

const Extension = Strict({
  name: PgIdentifier('extension name'),
  version: Type.Optional(Type.String({ minLength: 1, maxLength: 64 })),
  schema: Type.Optional(PgIdentifier('schema to install it in')),
  ensure: Ensure,
});
const Schema = Strict({ name: PgIdentifier('schema name'), owner: Type.Optional(PgIdentifier('schema owner')), ensure: Ensure });

export const PostgresDatabaseSpec = Strict({
  cluster: ClusterRef,
  name: PgIdentifier('database name in PostgreSQL'),
  owner: PgIdentifier('owning role (it must exist, e.g. through a PostgresUser)'),
  ensure: Ensure,
  databaseReclaimPolicy: ReclaimPolicy,
  encoding: Type.String({ default: 'UTF8', maxLength: 32 }),
  locale: Type.Optional(Type.String({ maxLength: 64 })),
  template: Type.String({ default: 'template1', maxLength: 63 }),
  connectionLimit: Type.Integer({ minimum: -1, default: -1 }),
  allowConnections: Type.Boolean({ default: true }),
  extensions: Type.Optional(Type.Array(Extension, { maxItems: 64, 'x-kubernetes-list-type': 'map', 'x-kubernetes-list-map-keys': ['name'] })),
  schemas: Type.Optional(Type.Array(Schema, { maxItems: 256, 'x-kubernetes-list-type': 'map', 'x-kubernetes-list-map-keys': ['name'] })),
}, {
  rules: [
    { rule: 'self.name == oldSelf.name', message: 'is immutable: rename the database in PostgreSQL and create a new resource', fieldPath: '.name' },
    { rule: 'self.cluster == oldSelf.cluster', message: 'is immutable', fieldPath: '.cluster' },
    { rule: "!(self.name in ['postgres', 'template0', 'template1'])", message: 'names a database the operator manages itself', fieldPath: '.name' },
  ],
});

export const PostgresDatabaseStatus = Type.Object({ ...CommonStatus, applied: Type.Optional(Type.Boolean()) });
export type PostgresDatabase = Resource<Static<typeof PostgresDatabaseSpec>, Static<typeof PostgresDatabaseStatus>>;

export const postgresDatabaseDefinition: ResourceDefinition = {
  kind: 'PostgresDatabase', plural: 'postgresdatabases', singular: 'postgresdatabase', shortNames: ['pgdb'], scope: 'Namespaced', categories: ['pgop', 'all'],
  spec: PostgresDatabaseSpec, status: PostgresDatabaseStatus,
  printerColumns: [
    { name: 'Cluster', type: 'string', jsonPath: '.spec.cluster.name' },
    { name: 'Database', type: 'string', jsonPath: '.spec.name' },
    { name: 'Owner', type: 'string', jsonPath: '.spec.owner' },
    { name: 'Applied', type: 'boolean', jsonPath: '.status.applied' },
    { name: 'Age', type: 'date', jsonPath: '.metadata.creationTimestamp' },
  ],
};
