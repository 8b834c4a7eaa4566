// Shapes several kinds share.
import { Type } from '@sinclair/typebox';
import { Strict, Name, Conditions, Opaque } from './schema-kit.js';

/** A reference to a PostgresCluster in the same namespace. */
export const ClusterRef = Strict({ name: Name({ description: 'PostgresCluster in the same namespace' }) });

export const SecretKeyRef = Strict({ name: Name(), key: Type.String({ minLength: 1, maxLength: 253 }) });

export const Ensure = Type.Union([Type.Literal('present'), Type.Literal('absent')], { default: 'present', description: 'absent removes the object from PostgreSQL' });
export const ReclaimPolicy = Type.Union([Type.Literal('retain'), Type.Literal('delete')], { default: 'retain', description: 'What deleting this resource does to the object in PostgreSQL' });

/** Status every kind carries: phase, conditions, observed generation and the persisted machine snapshot. */
export const CommonStatus = {
  phase: Type.Optional(Type.String()),
  message: Type.Optional(Type.String()),
  conditions: Type.Optional(Conditions),
  observedGeneration: Type.Optional(Type.Integer()),
  machine: Type.Optional(Opaque({ description: 'Persisted statechart snapshot envelope' })),
};

/** PostgreSQL identifiers as users write them (quoted by the operator, so any case works). */
export const PgIdentifier = (description: string) => Type.String({ minLength: 1, maxLength: 63, description });

/** Five-field cron, or six with seconds first; checked properly by the controller (cron library). */
export const Cron = Type.String({
  maxLength: 100,
  pattern: '^(\\S+\\s+){4,5}\\S+$',
  'x-pgop-hint': 'must be a cron schedule of 5 fields (minute hour day month weekday), or 6 with seconds first',
  description: 'When to run, in cron syntax, in UTC',
});
