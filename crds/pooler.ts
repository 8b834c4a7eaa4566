// Pooler: PgBouncer in front of a cluster's read-write or read-only endpoint, with pause/resume.
import { Type, type Static } from '@sinclair/typebox';
import { Strict, StringMap } from './schema-kit.js';
import { ClusterRef, CommonStatus } from './common.js';
import type { ResourceDefinition, Resource } from './definition.js';

const OWNED = ['listen_addr', 'listen_port', 'auth_file', 'auth_type', 'auth_query', 'auth_user', 'unix_socket_dir', 'pidfile', 'logfile'];

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
      rules: OWNED.map((k) => ({ rule: `!has(self.${k})`, message: `${k} is a PgBouncer setting the operator manages; remove it` })),
    })),
  }, { default: {} }),
}, {
  rules: [{ rule: 'self.cluster == oldSelf.cluster', message: 'is immutable: create another Pooler', fieldPath: '.cluster' }],
});

export const PoolerStatus = Type.Object({ ...CommonStatus, instances: Type.Optional(Type.Integer()), readyInstances: Type.Optional(Type.Integer()), endpoint: Type.Optional(Type.String()) });
export type Pooler = Resource<Static<typeof PoolerSpec>, Static<typeof PoolerStatus>>;

export const poolerDefinition: ResourceDefinition = {
  kind: 'Pooler', plural: 'poolers', singular: 'pooler', shortNames: ['pgpool'], scope: 'Namespaced', categories: ['pgop', 'all'],
  spec: PoolerSpec, status: PoolerStatus,
  printerColumns: [
    { name: 'Cluster', type: 'string', jsonPath: '.spec.cluster.name' },
    { name: 'Type', type: 'string', jsonPath: '.spec.type' },
    { name: 'Instances', type: 'integer', jsonPath: '.spec.instances' },
    { name: 'Paused', type: 'boolean', jsonPath: '.spec.paused' },
    { name: 'Phase', type: 'string', jsonPath: '.status.phase' },
    { name: 'Age', type: 'date', jsonPath: '.metadata.creationTimestamp' },
  ],
};
