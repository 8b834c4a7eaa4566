// Pooler: PgBouncer in front of a cluster's read-write or read-only endpoint, with pause/resume.
import { Type, type Static } from '@sinclair/typebox';
import { Strict, StringMap } from './schema-kit.js';
import { ClusterRef, CommonStatus } from './common.js';
import type { ResourceDefinition, Resource } from './definition.js';
import { POOLER_PARAMETER_RULES, poolerParameterProblems } from './pgbouncer-parameters.js';

export const PoolerSpec = Strict({
  cluster: ClusterRef,
  type: Type.Union([Type.Literal('rw'), Type.Literal('ro')], { default: 'rw' }),
  instances: Type.Integer({ minimum: 1, maximum: 20, default: 1 }),
  paused: Type.Boolean({ default: false, description: 'PAUSE: hold new queries (for maintenance) until set back to false' }),
  pgbouncer: Strict({
    poolMode: Type.Union([Type.Literal('session'), Type.Literal('transaction'), Type.Literal('statement')], { default: 'session' }),
    defaultPoolSize: Type.Integer({ minimum: 1, maximum: 10000, default: 20 }),
    maxClientConnections: Type.Integer({ minimum: 1, maximum: 100000, default: 1000 }),
    parameters: Type.Optional(StringMap({
      maxProperties: 100,
      description: 'pgbouncer.ini tuning (timeouts, pool sizes, logging, keepalives) from an allowlist; listening, auth, TLS and files belong to the operator. Changes are reloaded without dropping clients.',
      rules: POOLER_PARAMETER_RULES,
    })),
  }, { default: {} }),
}, {
  rules: [{ rule: 'self.cluster == oldSelf.cluster', message: 'is immutable: create another Pooler', fieldPath: '.cluster' }],
});

export const PoolerStatus = Type.Object({
  ...CommonStatus,
  instances: Type.Optional(Type.Integer()),
  readyInstances: Type.Optional(Type.Integer()),
  endpoint: Type.Optional(Type.String()),
  paused: Type.Optional(Type.Boolean({ description: 'Whether PgBouncer holds new queries (PAUSE) right now' })),
  target: Type.Optional(Type.String({ description: 'The instance (rw) or endpoint (ro) PgBouncer sends server connections to' })),
});
export type PoolerSpec = Static<typeof PoolerSpec>;
export type Pooler = Resource<PoolerSpec, Static<typeof PoolerStatus>>;

export const poolerDefinition: ResourceDefinition = {
  kind: 'Pooler', plural: 'poolers', singular: 'pooler', shortNames: ['pgpool'], scope: 'Namespaced', categories: ['pgop', 'all'],
  spec: PoolerSpec, status: PoolerStatus,
  localChecks: (spec) => poolerParameterProblems((spec as PoolerSpec).pgbouncer?.parameters ?? {})
    .map((message) => ({ field: 'spec.pgbouncer.parameters', message })),
  printerColumns: [
    { name: 'Cluster', type: 'string', jsonPath: '.spec.cluster.name' },
    { name: 'Type', type: 'string', jsonPath: '.spec.type' },
    { name: 'Instances', type: 'integer', jsonPath: '.spec.instances' },
    { name: 'Paused', type: 'boolean', jsonPath: '.status.paused' },
    { name: 'Phase', type: 'string', jsonPath: '.status.phase' },
    { name: 'Age', type: 'date', jsonPath: '.metadata.creationTimestamp' },
  ],
};
