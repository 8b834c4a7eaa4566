// PostgresUser: one role, declaratively: attributes, memberships, password from a Secret (or generated), rotation.
import { Type, type Static } from '@sinclair/typebox';
import { Strict, Name } from './schema-kit.js';
import { ClusterRef, CommonStatus, Ensure, ReclaimPolicy } from './common.js';
import { SqlName, fitsNameData } from './sql-names.js';
import { reservedRoleRule } from './reserved-roles.js';
import type { ResourceDefinition, Resource } from './definition.js';

export const PostgresUserSpec = Strict({
  cluster: ClusterRef,
  name: SqlName('role name in PostgreSQL (any text; the operator quotes it)'),
  ensure: Ensure,
  reclaimPolicy: ReclaimPolicy,
  login: Type.Boolean({ default: true }),
  superuser: Type.Boolean({ default: false }),
  createdb: Type.Boolean({ default: false }),
  createrole: Type.Boolean({ default: false }),
  replication: Type.Boolean({ default: false }),
  bypassrls: Type.Boolean({ default: false }),
  inherit: Type.Boolean({ default: true }),
  connectionLimit: Type.Integer({ minimum: -1, maximum: 100000, default: -1 }),
  validUntil: Type.Optional(Type.String({ format: 'date-time', description: 'Password expiry (VALID UNTIL); absent means never' })),
  inRoles: Type.Optional(Type.Array(SqlName('role to be a member of'), {
    maxItems: 64, 'x-kubernetes-list-type': 'set',
    description: 'Exactly the roles this role is a member of: missing memberships are granted, others revoked',
  })),
  passwordSecret: Type.Optional(Strict({ name: Name({ description: 'A kubernetes.io/basic-auth Secret in the same namespace; its "password" key is the password' }) })),
  passwordRotation: Type.Optional(Strict({ intervalDays: Type.Integer({ minimum: 1, maximum: 3650 }) }, { description: 'Generated passwords are replaced this often' })),
  disablePassword: Type.Boolean({ default: false, description: 'The role has no password (PASSWORD NULL): it logs in by other means or not at all' }),
}, {
  rules: [
    { rule: 'self.name == oldSelf.name', message: 'is immutable', fieldPath: '.name' },
    { rule: 'self.cluster == oldSelf.cluster', message: 'is immutable', fieldPath: '.cluster' },
    reservedRoleRule('self.name', '.name'),
    fitsNameData('name'),
    { rule: "!has(self.inRoles) || self.inRoles.all(r, !(r in ['postgres', 'streaming_replica']) && !r.startsWith('pgop_') && size(bytes(r)) <= 63)", message: 'may not include the operator\'s roles (postgres, streaming_replica, pgop_*) or names over 63 bytes', fieldPath: '.inRoles' },
    { rule: '!has(self.inRoles) || !(self.name in self.inRoles)', message: 'a role cannot be a member of itself', fieldPath: '.inRoles' },
    { rule: '!has(self.passwordSecret) || !has(self.passwordRotation)', message: 'rotation applies to generated passwords only; drop passwordSecret or passwordRotation (change the Secret to rotate it)', fieldPath: '.passwordRotation' },
    { rule: '!self.disablePassword || (!has(self.passwordSecret) && !has(self.passwordRotation))', message: 'a role without password takes neither passwordSecret nor passwordRotation', fieldPath: '.disablePassword' },
  ],
});
export type PostgresUserSpec = Static<typeof PostgresUserSpec>;

export const PostgresUserStatus = Type.Object({
  ...CommonStatus,
  phaseReason: Type.Optional(Type.String()),
  applied: Type.Optional(Type.Boolean()),
  /** The Secret the password comes from (given or generated). */
  passwordSecret: Type.Optional(Type.String()),
  /** resourceVersion of that Secret when its password was last applied. */
  passwordSecretVersion: Type.Optional(Type.String()),
  lastRotation: Type.Optional(Type.String()),
  lastError: Type.Optional(Type.String()),
  /** The instance the role was last applied on (the cluster's primary at the time). */
  appliedOn: Type.Optional(Type.String()),
});
export type PostgresUser = Resource<PostgresUserSpec, Static<typeof PostgresUserStatus>>;

export const postgresUserDefinition: ResourceDefinition = {
  kind: 'PostgresUser', plural: 'postgresusers', singular: 'postgresuser', shortNames: ['pguser'], scope: 'Namespaced', categories: ['pgop', 'all'],
  spec: PostgresUserSpec, status: PostgresUserStatus,
  printerColumns: [
    { name: 'Cluster', type: 'string', jsonPath: '.spec.cluster.name' },
    { name: 'Role', type: 'string', jsonPath: '.spec.name' },
    { name: 'Login', type: 'boolean', jsonPath: '.spec.login' },
    { name: 'Phase', type: 'string', jsonPath: '.status.phase' },
    { name: 'Applied', type: 'boolean', jsonPath: '.status.applied' },
    { name: 'Age', type: 'date', jsonPath: '.metadata.creationTimestamp' },
  ],
};
