// The port every platform implements for custom resources: the Kubernetes apiserver, or the local Redis store.
import type { Resource } from '../../crds/definition.js';

export interface ResourceKey { kind: string; namespace: string; name: string }
export type WatchEvent = { type: 'ADDED' | 'MODIFIED' | 'DELETED'; key: ResourceKey };

/** The read side, which triggers and implementations may use. */
export interface ResourceReader {
  get(key: ResourceKey): Promise<Resource | undefined>;
  list(kind: string): Promise<Resource[]>;
}

export interface ResourceStore extends ResourceReader {
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
