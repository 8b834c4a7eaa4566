// The pools of one (role, database): one per shard, or a single one when the router is not sharded.
import type { BackendPool } from './backend-pool.js';

export interface ShardPools {
  /** Where unsharded statements go, and whose parameters clients see at login. */
  readonly default: BackendPool;
  get(shard: string): BackendPool;
  all(): BackendPool[];
}

export function singlePool(pool: BackendPool): ShardPools {
  return { default: pool, get: () => pool, all: () => [pool] };
}
