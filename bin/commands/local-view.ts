// Rendering resources for `pgop local get` and for `up`'s summary.
import type { Resource } from '../../crds/definition.js';
import type { PostgresClusterStatus } from '../../crds/postgrescluster.js';
import { table, age } from './format.js';

type ClusterResource = Resource<{ instances: number }, PostgresClusterStatus>;

export function clusterTable(items: Resource[], now = new Date()): string {
  const sharded = items.some((c) => (c.spec as { sharding?: unknown }).sharding !== undefined);
  const rows = (items as ClusterResource[]).map((c) => [
    c.metadata.name,
    String(c.spec.instances),
    String(c.status?.readyInstances ?? 0),
    c.metadata.deletionTimestamp ? 'Deleting' : c.status?.phase ?? 'Pending',
    c.status?.currentPrimary ?? '',
    c.status?.endpoints?.readWrite ?? '',
    c.status?.endpoints?.readOnly ?? '',
    age(c.metadata.creationTimestamp, now),
    ...(sharded ? [(c.status as { shardsReady?: string } | undefined)?.shardsReady ?? ''] : []),
  ]);
  // SHARDS (ready/total) only when a sharded cluster is listed, after AGE so the usual columns stay where they are.
  return table(['NAME', 'INSTANCES', 'READY', 'PHASE', 'PRIMARY', 'READ-WRITE', 'READ-ONLY', 'AGE', ...(sharded ? ['SHARDS'] : [])], rows);
}

export function clusterProgressLine(c: ClusterResource, elapsedMs: number): string {
  const s = c.status;
  const phase = c.metadata.deletionTimestamp ? 'Deleting' : s?.phase ?? 'Pending';
  return `[${String(Math.round(elapsedMs / 1000)).padStart(4)}s] ${c.metadata.name}: ${phase} (${s?.readyInstances ?? 0}/${c.spec.instances} ready)${s?.phaseReason ? ` - ${s.phaseReason}` : ''}`;
}
