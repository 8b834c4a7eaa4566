// ShardRanges → the `sharding` section of the router's config file (router/config.ts is the interface between the
// control plane and the router). Pure: the caller reads ShardRanges from its store and knows where each shard's
// primary endpoint is. Every ShardRange of a cluster must agree on the shards (the router holds one routing table
// per cluster today); the generation is the highest ShardRange version, so any routing change moves it.
import type { ShardRange } from '../crds/shardrange.js';

/**
 * `servername` is the name the shard's certificate is checked against (verify-full); without it, the host. In
 * Kubernetes it is the shard's any-instance Service name: a pod IP reaches the certificate only at the next renewal.
 */
export interface ShardEndpoint { host: string; port: number; caFile: string; servername?: string }

export interface ShardingSection {
  generation: number;
  shards: { name: string; host: string; port: number; tls: { caFile: string; servername: string } }[];
  tables: Record<string, { column: string; type: 'integer' | 'text' }>;
}

export class ShardMapError extends Error {}

const rangesKey = (r: ShardRange) => JSON.stringify([...r.spec.ranges].map((x) => `${x.start}-${x.end}=${x.shard}`).sort());

/** Null while some ShardRange is not Ready (no version) or a shard has no endpoint yet: keep the last config. */
export function shardingFromShardRanges(ranges: ShardRange[], endpoint: (shard: string) => ShardEndpoint | undefined): ShardingSection | null {
  if (!ranges.length) return null;
  if (ranges.some((r) => !r.status?.version || r.status.phase !== 'Ready')) return null;
  const first = ranges[0]!;
  for (const r of ranges) {
    if (rangesKey(r) !== rangesKey(first)) throw new ShardMapError(`ShardRange ${r.metadata.name} places keys differently from ${first.metadata.name}; the router needs one placement per cluster`);
    if (r.spec.vindex.type !== 'hash') throw new ShardMapError(`ShardRange ${r.metadata.name}: vindex ${r.spec.vindex.type} is not routed yet (hash only)`);
  }
  const shards: ShardingSection['shards'] = [];
  for (const x of [...first.spec.ranges].sort((a, b) => (a.start === '' ? -1 : b.start === '' ? 1 : a.start < b.start ? -1 : 1))) {
    const e = endpoint(x.shard);
    if (!e) return null;
    // verify-full against the shard cluster's own CA.
    shards.push({ name: x.shard, host: e.host, port: e.port, tls: { caFile: e.caFile, servername: e.servername ?? e.host } });
  }
  const tables: ShardingSection['tables'] = {};
  for (const r of ranges) {
    for (const t of r.spec.tables ?? []) tables[t] = { column: r.spec.vindex.column, type: r.spec.vindex.columnType ?? 'integer' };
  }
  return { generation: Math.max(...ranges.map((r) => r.status?.version ?? 0)), shards, tables };
}
