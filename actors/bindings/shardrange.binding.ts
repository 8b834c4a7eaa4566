// ShardRange ⇄ shardRange machine. A shard cluster appearing re-triggers the ShardRanges of its sharded cluster;
// while shards are missing the resync asks for a recheck. Status writes cause no work (no loop). Pure.
import type { ShardRangeSpec } from '../../machines/shardrange/shardrange.types.js';
import { shardRangeMachine, type ShardRangeMachine } from '../../machines/shardrange/shardrange.machine.js';
import type { ShardRangeEvent } from '../../machines/shardrange/shardrange.types.js';
import { selectShardRangeStatus, selectShardRangePhase } from '../../machines/shardrange/shardrange.selectors.js';
import { SHARDED_CLUSTER_LABEL } from '../../machines/cluster/shards.logic.js';
import { mergeConditions, type Condition } from '../status/conditions.js';
import type { KindBinding, Trigger } from '../binding.js';

/** A PostgresCluster change (a shard created, gone, or the sharded cluster itself) → that cluster's ShardRanges. */
const shardClusters: Trigger = {
  kind: 'PostgresCluster',
  async enqueue(changed, store) {
    const c = await store.get(changed);
    const owners = new Set([changed.name, ...(c?.metadata.labels?.[SHARDED_CLUSTER_LABEL] ? [c.metadata.labels[SHARDED_CLUSTER_LABEL]] : [])]);
    return (await store.list('ShardRange'))
      .filter((r) => (r.metadata.namespace ?? '') === changed.namespace && owners.has((r.spec as ShardRangeSpec).cluster.name))
      .map((r) => ({ kind: 'ShardRange', namespace: changed.namespace, name: r.metadata.name }));
  },
};

export const shardRangeBinding: KindBinding<ShardRangeMachine> = {
  kind: 'ShardRange',
  machineId: 'shardRange',
  machine: shardRangeMachine,
  input: (r) => ({ namespace: r.metadata.namespace ?? 'default', name: r.metadata.name, spec: r.spec as ShardRangeSpec, generation: r.metadata.generation ?? 1 }),
  eventsFor(r, snapshot) {
    const events: ShardRangeEvent[] = [];
    if (snapshot.status !== 'active') return events;
    if (r.metadata.deletionTimestamp) return [{ type: 'shardRange.deleted' }];
    const generation = r.metadata.generation ?? 1;
    if (generation !== snapshot.context.generation) events.push({ type: 'spec.changed', spec: r.spec as ShardRangeSpec, generation });
    else if (snapshot.matches('waitingForShards')) events.push({ type: 'shardRange.sync' });
    return events;
  },
  status(snapshot, previous, now) {
    const s = selectShardRangeStatus(snapshot);
    return { ...s, conditions: mergeConditions(previous.conditions as Condition[] | undefined, s.conditions, now, s.observedGeneration) };
  },
  generationOf: (snapshot) => snapshot.context.generation,
  watches: [shardClusters],
  notices(before, after) {
    if (!before) return [];
    const out = [];
    if (after.context.version !== before.context.version) out.push({ type: 'Normal' as const, reason: 'RoutingChanged', message: `routing version ${after.context.version}: ${after.context.spec.ranges.map((x) => x.shard).join(', ')}` });
    const [from, to] = [selectShardRangePhase(before), selectShardRangePhase(after)];
    if (from !== to) out.push({ type: to === 'Ready' ? 'Normal' as const : 'Warning' as const, reason: to, message: `phase ${from} → ${to}` });
    return out;
  },
};
