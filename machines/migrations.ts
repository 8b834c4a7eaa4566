// Snapshot migrations: a persisted snapshot of version N of a machine becomes version N+1 through the function
// registered under N. Pure JSON → JSON; the stored object's identity is passed in for fields a new version adds.
// Bump the machine's version in machines/shared/versions.ts, record the previous version's fixture
// (tests/fixtures/snapshots/record.ts) and add the step here; actors/persistence/migrations.test.ts proves it.
import type { MachineId } from './shared/versions.js';

/** What a migration may read of the custom object the snapshot belongs to. */
export interface StoredIdentity { uid: string; generation: number }

export type PersistedSnapshot = Record<string, unknown> & { context?: Record<string, unknown>; children?: Record<string, PersistedChild> };
interface PersistedChild { src?: unknown; snapshot?: PersistedSnapshot & { input?: unknown } }

export type Migration = (snapshot: PersistedSnapshot, stored: StoredIdentity) => PersistedSnapshot;

/** instance 1 → 2: the owner's identity (uid, generation) keys queued jobs; in-flight effect inputs carry it too. */
function instanceV1(snapshot: PersistedSnapshot, stored: StoredIdentity): PersistedSnapshot {
  const owner = { uid: stored.uid, generation: stored.generation };
  const children = Object.fromEntries(Object.entries(snapshot.children ?? {}).map(([id, child]) => {
    const input = child.snapshot?.input as Record<string, unknown> | undefined;
    const effect = input && typeof input === 'object' && 'serial' in input && !('owner' in input);
    return [id, effect ? { ...child, snapshot: { ...child.snapshot, input: { ...input, owner } } } : child];
  }));
  return { ...snapshot, context: { ...snapshot.context, owner }, children };
}

/** cluster 1 → 2: the object's uid in context; its instance children migrate with the cluster's generation. */
function clusterV1(snapshot: PersistedSnapshot, stored: StoredIdentity): PersistedSnapshot {
  const generation = typeof snapshot.context?.generation === 'number' ? snapshot.context.generation : stored.generation;
  const children = Object.fromEntries(Object.entries(snapshot.children ?? {}).map(([id, child]) => [id,
    child.src === 'instance' && child.snapshot ? { ...child, snapshot: instanceV1(child.snapshot, { uid: stored.uid, generation }) } : child]));
  return { ...snapshot, context: { ...snapshot.context, uid: stored.uid }, children };
}

/** cluster 2 → 3: context.shards (empty: an unsharded cluster has none). */
function clusterV2(snapshot: PersistedSnapshot): PersistedSnapshot {
  return { ...snapshot, context: { ...snapshot.context, shards: [] } };
}


// --- rolling updates (v4, ADR 0026) ---
/**
 * cluster 3 → 4 (rolling updates): context.rollout, with the stored generation's configuration taken as applied
 * (v3 applied it when creating the instances); the root's image watcher joins the children, because a restored
 * snapshot restarts the invocations it lists and starts no others.
 */
function clusterV3Rollout(snapshot: PersistedSnapshot, stored: StoredIdentity): PersistedSnapshot {
  const generation = typeof snapshot.context?.generation === 'number' ? snapshot.context.generation : stored.generation;
  const rollout = { desiredImage: null, imageSource: null, imageError: null, appliedGeneration: generation, rollingInstance: null, rolled: [] };
  const ctx = snapshot.context ?? {};
  const input = { cluster: { namespace: ctx.namespace, name: ctx.name }, sharded: typeof ctx.spec === 'object' && ctx.spec !== null && 'sharding' in ctx.spec };
  const watcher = { src: 'watchImage', syncSnapshot: false, snapshot: { status: 'active', input } };
  return { ...snapshot, context: { ...snapshot.context, rollout }, children: { ...(snapshot.children ?? {}), watchImage: watcher } };
}

/**
 * cluster 3 → 4: rolling updates (above) and, from ADR 0028, no hibernation/fencing annotation seen yet and nothing
 * fenced; the binding re-sends both annotations.
 */
function clusterV3(snapshot: PersistedSnapshot, stored: StoredIdentity): PersistedSnapshot {
  const rolled = clusterV3Rollout(snapshot, stored);
  return { ...rolled, context: { hibernationAnnotation: null, fencingAnnotation: null, fencedInstances: [], fencingError: null, ...rolled.context } };
}

export const MIGRATIONS: { [K in MachineId]: Record<number, Migration> } = {
  cluster: { 1: clusterV1, 2: clusterV2, 3: clusterV3 },
  instance: { 1: instanceV1 },
  failover: {},
  switchover: {},
  agent: {},
  backup: {},
  pooler: {},
  user: {},
  database: {},
  shardRange: {},
  restoreVerify: {},
  scheduledBackup: {},
  imageCatalog: {},
};
