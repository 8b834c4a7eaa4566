import type { Static } from '@sinclair/typebox';
import type { ShardRangeSpec as ShardRangeSpecSchema } from '../../crds/shardrange.js';

export type ShardRangeSpec = Static<typeof ShardRangeSpecSchema>;

export interface ShardRangeInput { namespace: string; name: string; spec: ShardRangeSpec; generation: number }

export interface ShardRangeProblem { reason: 'InvalidRanges' | 'ShardsMissing' | 'CheckFailed'; message: string }

export interface ShardRangeContext extends ShardRangeInput {
  /** Bumped each time the routing (ranges, vindex, tables) the object publishes changes; 0 before the first. */
  version: number;
  /** The routing last accepted, as canonical JSON: a spec change that leaves it alone keeps the version. */
  acceptedRouting: string | null;
  /** The generation whose routing is accepted (status.observedGeneration). */
  acceptedGeneration: number | null;
  problem: ShardRangeProblem | null;
}

export type ShardRangeEvent =
  | { type: 'spec.changed'; spec: ShardRangeSpec; generation: number }
  | { type: 'shardRange.sync' }
  | { type: 'shardRange.deleted' };

/** Which shards' PostgresClusters must exist. */
export interface CheckShardsInput { namespace: string; cluster: string; shards: string[] }
/** The shards whose PostgresCluster is missing (empty: all exist). */
export type CheckShardsOutput = string[];
