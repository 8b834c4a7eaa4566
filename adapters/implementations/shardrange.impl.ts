// The shardRange machine's effects: does each shard's PostgresCluster exist; a timer for rechecks.
import { fromPromise, fromCallback, type AnyEventObject } from 'xstate';
import type { CheckShardsInput, CheckShardsOutput } from '../../machines/shardrange/shardrange.types.js';
import type { shardRangeMachine } from '../../machines/shardrange/shardrange.machine.js';
import { shardClusterName, parseShard } from '../../crds/sharding.js';
import type { ResourceReader } from '../../actors/ports/resource-store.js';

export interface ShardRangeDeps { store: ResourceReader; recheckEveryMs?: number }

export function createShardRangeImplementations(deps: ShardRangeDeps) {
  return {
    actors: {
      checkShards: fromPromise<CheckShardsOutput, CheckShardsInput>(async ({ input }) => {
        const missing: string[] = [];
        for (const shard of input.shards) {
          // A name that is not a key range cannot name a cluster (the machine refuses it before; checked again here).
          if (!parseShard(shard)) { missing.push(shard); continue; }
          const c = await deps.store.get({ kind: 'PostgresCluster', namespace: input.namespace, name: shardClusterName(input.cluster, shard) });
          if (!c || c.metadata.deletionTimestamp) missing.push(shard);
        }
        return missing;
      }),
      waitToRecheck: fromCallback<AnyEventObject, CheckShardsInput>(({ sendBack }) => {
        const timer = setInterval(() => sendBack({ type: 'shardRange.sync' }), deps.recheckEveryMs ?? 5000);
        return () => clearInterval(timer);
      }),
    },
  } satisfies Parameters<typeof shardRangeMachine.provide>[0];
}
