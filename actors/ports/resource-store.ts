// The port every platform implements for custom resources: the Kubernetes apiserver, or the local Redis store.
import type { OwnerReference, Resource } from '../../crds/definition.js';

export interface ResourceKey { kind: string; namespace: string; name: string }
export type WatchEvent = { type: 'ADDED' | 'MODIFIED' | 'DELETED'; key: ResourceKey };

/** The read side, which triggers and implementations may use. */
export interface ResourceReader {
  get(key: ResourceKey): Promise<Resource | undefined>;
  list(kind: string): Promise<Resource[]>;
}

/** Objects a controller creates and deletes itself (a ScheduledBackup's BackupJobs). */
export interface ResourceWriter {
  /**
   * Creates `manifest` (admitted like a user's) owned by `owner`; an object of that name already owned by the same
   * owner uid is 'exists' (a retried create), one owned by anybody else is an error.
   */
  create(manifest: Resource, owner: OwnerReference): Promise<'created' | 'exists'>;
  /** Deletes (finalizers run first); an absent object is fine. */
  remove(key: ResourceKey): Promise<void>;
}

export interface ResourceStore extends ResourceReader, ResourceWriter {
  /** Reread → pure mutation → skip when equal → write only if nobody else wrote meanwhile (retry on conflict). */
  patchStatus(key: ResourceKey, mutate: (status: Record<string, unknown>) => Record<string, unknown>): Promise<void>;
  addFinalizer(key: ResourceKey, finalizer: string): Promise<void>;
  /** Removes the finalizer; the object disappears when it was being deleted and none remain. */
  removeFinalizer(key: ResourceKey, finalizer: string): Promise<void>;
  watch(onEvent: (e: WatchEvent) => void): Promise<() => Promise<void>>;
}

/** The object that owns another (metadata.ownerReferences): deleting it takes the owned objects along. */
export interface OwnerRef { apiVersion: string; kind: string; name: string; uid: string }

/** Objects the operator creates itself (the shards of a sharded cluster, its ShardRanges). */
export interface OwnedResourceWriter {
  /** Create or update (admitted like a manifest: schema, defaults, CEL); the spec and labels follow, status stays. */
  applyOwned(resource: Resource, owner: OwnerRef): Promise<'created' | 'configured' | 'unchanged'>;
  /** Delete (finalizers run first); absent is fine. */
  deleteOwned(key: ResourceKey): Promise<void>;
}

export const keyString = (k: ResourceKey) => `${k.kind}/${k.namespace}/${k.name}`;
export const keyOfResource = (r: Resource): ResourceKey => ({ kind: r.kind, namespace: r.metadata.namespace ?? '', name: r.metadata.name });
export const FINALIZER = 'postgres.keiailab.io/finalizer';
