// ShardSplitJob: online resharding in seven steps (snapshotAndCapture → bootstrapTargets → initialCopy →
// cdcCatchup → cutover → routingUpdate → cleanup), each a persisted state; long steps run as BullMQ jobs.
import { Type, type Static } from '@sinclair/typebox';
import { Strict, Name } from './schema-kit.js';
import { CommonStatus } from './common.js';
import type { ResourceDefinition, Resource } from './definition.js';

export const SPLIT_STEPS = ['snapshotAndCapture', 'bootstrapTargets', 'initialCopy', 'cdcCatchup', 'cutover', 'routingUpdate', 'cleanup'] as const;

export const ShardSplitJobSpec = Strict({
  shardRange: Name({ description: 'ShardRange whose range is split' }),
  sourceShard: Type.String({ minLength: 1, maxLength: 63 }),
  splitPoints: Type.Array(Type.String({ pattern: '^([0-9a-f]{2})+$', maxLength: 32 }), { minItems: 1, maxItems: 15, description: 'Keyspace ids where the new shards begin' }),
  targetShards: Type.Array(Type.String({ minLength: 1, maxLength: 63 }), { minItems: 2, maxItems: 16 }),
  copy: Strict({
    parallelism: Type.Integer({ minimum: 1, maximum: 64, default: 4 }),
    maxRowsPerSecond: Type.Optional(Type.Integer({ minimum: 1 })),
  }, { default: {} }),
  cutover: Strict({
    maxLagBytes: Type.Integer({ minimum: 0, default: 1048576, description: 'Writes pause only once the targets are this close' }),
    maxWritePauseMs: Type.Integer({ minimum: 100, maximum: 60000, default: 2000 }),
    auto: Type.Boolean({ default: true, description: 'false waits for a user to approve the cutover' }),
  }, { default: {} }),
  verify: Type.Boolean({ default: true, description: 'Compare row counts and checksums before cutover' }),
  abort: Type.Boolean({ default: false, description: 'Stop and roll back (allowed until routingUpdate)' }),
}, {
  rules: [
    { rule: 'size(self.targetShards) == size(self.splitPoints) + 1', message: 'needs one more target shard than split points', fieldPath: '.targetShards' },
    { rule: '(self.shardRange == oldSelf.shardRange) && (self.sourceShard == oldSelf.sourceShard) && (self.splitPoints == oldSelf.splitPoints) && (self.targetShards == oldSelf.targetShards)', message: 'what is split and where is immutable; create a new job', fieldPath: '.splitPoints' },
  ],
});

export const ShardSplitJobStatus = Type.Object({
  ...CommonStatus,
  step: Type.Optional(Type.Union(SPLIT_STEPS.map((s) => Type.Literal(s)))),
  progress: Type.Optional(Type.String()),
  startedAt: Type.Optional(Type.String()),
  completedAt: Type.Optional(Type.String()),
  writePauseMs: Type.Optional(Type.Integer()),
});
export type ShardSplitJob = Resource<Static<typeof ShardSplitJobSpec>, Static<typeof ShardSplitJobStatus>>;

export const shardSplitJobDefinition: ResourceDefinition = {
  kind: 'ShardSplitJob', plural: 'shardsplitjobs', singular: 'shardsplitjob', shortNames: ['pgsplit'], scope: 'Namespaced', categories: ['pgop', 'all'],
  spec: ShardSplitJobSpec, status: ShardSplitJobStatus,
  printerColumns: [
    { name: 'Range', type: 'string', jsonPath: '.spec.shardRange' },
    { name: 'Source', type: 'string', jsonPath: '.spec.sourceShard' },
    { name: 'Step', type: 'string', jsonPath: '.status.step' },
    { name: 'Phase', type: 'string', jsonPath: '.status.phase' },
    { name: 'Age', type: 'date', jsonPath: '.metadata.creationTimestamp' },
  ],
};
