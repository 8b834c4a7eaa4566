// The objects a sharded PostgresCluster owns, as pure data: one PostgresCluster per shard carrying the parent's
// spec (instances, storage, postgresql, ...) without `sharding`, so every HA machine applies per shard unchanged,
// and one ShardRange per table group with ranges covering the keyspace evenly.
import { API_VERSION, type Resource } from '../../crds/definition.js';
import type { PostgresClusterSpec } from '../../crds/postgrescluster.js';
import { shardsOf, shardRangeName, shardClusterName } from '../../crds/sharding.js';

export const SHARDED_CLUSTER_LABEL = 'postgres.keiailab.io/sharded-cluster';
export const SHARD_LABEL = 'postgres.keiailab.io/shard';

/** A label value cannot start or end with "-": the shard's cluster suffix ("min-80") stands for "-80". */
export const shardLabelValue = (cluster: string, shard: string) => shardClusterName(cluster, shard).slice(cluster.length + 1);

export function shardClusterSpec(spec: PostgresClusterSpec): PostgresClusterSpec {
  const { sharding: _s, ...rest } = spec;
  return rest;
}

export function desiredShardObjects(parent: { namespace: string; name: string }, spec: PostgresClusterSpec): Resource[] {
  const sharding = spec.sharding;
  if (!sharding) return [];
  const shards = shardsOf(parent.name, sharding);
  const clusters: Resource[] = shards.map((s) => ({
    apiVersion: API_VERSION, kind: 'PostgresCluster',
    metadata: { name: s.cluster, namespace: parent.namespace, labels: { [SHARDED_CLUSTER_LABEL]: parent.name, [SHARD_LABEL]: shardLabelValue(parent.name, s.shard) } },
    spec: shardClusterSpec(spec),
  }));
  const ranges: Resource[] = sharding.tableGroups.map((g) => ({
    apiVersion: API_VERSION, kind: 'ShardRange',
    metadata: { name: shardRangeName(parent.name, g.name), namespace: parent.namespace, labels: { [SHARDED_CLUSTER_LABEL]: parent.name } },
    spec: {
      cluster: { name: parent.name }, tableGroup: g.name,
      vindex: { type: g.vindex.type, column: g.vindex.column, columnType: g.vindex.columnType },
      tables: g.tables,
      ranges: shards.map((s) => ({ start: s.range.start, end: s.range.end, shard: s.shard })),
    },
  }));
  return [...clusters, ...ranges];
}
