// PostgresUser: one role, declaratively: attributes, memberships, password from a Secret (or generated), rotation.
import { Type, type Static } from '@sinclair/typebox';
import { Strict } from './schema-kit.js';
import { ClusterRef, CommonStatus, Ensure, ReclaimPolicy, PgIdentifier, SecretKeyRef } from './common.js';
import type { ResourceDefinition, Resource } from './definition.js';

export const PostgresUserSpec = Strict({
  cluster: ClusterRef,
  name: PgIdentifier('role name in PostgreSQL'),
  ensure: Ensure,
  reclaimPolicy: ReclaimPolicy,
  login: Type.Boolean({ default: true }),
  superuser: Type.Boolean({ default: false }),
  createdb: Type.Boolean({ default: false }),
  createrole: Type.Boolean({ default: false }),
  replication: Type.Boolean({ default: false }),
  bypassrls: Type.Boolean({ default: false }),
  inherit: Type.Boolean({ default: true }),
  connectionLimit: Type.Integer({ minimum: -1, default: -1 }),
  validUntil: Type.Optional(Type.String({ format: 'date-time' })),
  inRoles: Type.Optional(Type.Array(PgIdentifier('role to be a member of'), { maxItems: 64, 'x-kubernetes-list-type': 'set' })),
  passwordSecret: Type.Optional(Strict({ ...SecretKeyRef.properties }, { description: 'Where the password is; generated into <cluster>-<role> when absent' })),
  passwordRotation: Type.Optional(Strict({ intervalDays: Type.Integer({ minimum: 1, maximum: 3650 }) }, { description: 'Generated passwords are replaced this often' })),
}, {
  rules: [
    { rule: 'self.name == oldSelf.name', message: 'is immutable', fieldPath: '.name' },
    { rule: "!(self.name in ['postgres', 'streaming_replica']) && !self.name.startsWith('pg_')", message: 'names a role the operator or PostgreSQL owns', fieldPath: '.name' },
    { rule: '!has(self.passwordSecret) || !has(self.passwordRotation)', message: 'rotation applies to generated passwords only; drop passwordSecret or passwordRotation', fieldPath: '.passwordRotation' },
  ],
});

export const PostgresUserStatus = Type.Object({
  ...CommonStatus,
  applied: Type.Optional(Type.Boolean()),
  passwordSecret: Type.Optional(Type.String()),
  lastRotation: Type.Optional(Type.String()),
});
export type PostgresUser = Resource<Static<typeof PostgresUserSpec>, Static<typeof PostgresUserStatus>>;

export const postgresUserDefinition: ResourceDefinition = {
  kind: 'PostgresUser', plural: 'postgresusers', singular: 'postgresuser', shortNames: ['pguser'], scope: 'Namespaced', categories: ['pgop', 'all'],
  spec: PostgresUserSpec, status: PostgresUserStatus,
  printerColumns: [
    { name: 'Cluster', type: 'string', jsonPath: '.spec.cluster.name' },
    { name: 'Role', type: 'string', jsonPath: '.spec.name' },
    { name: 'Login', type: 'boolean', jsonPath: '.spec.login' },
    { name: 'Applied', type: 'boolean', jsonPath: '.status.applied' },
    { name: 'Age', type: 'date', jsonPath: '.metadata.creationTimestamp' },
  ],
};
