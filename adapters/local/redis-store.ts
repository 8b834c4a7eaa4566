// The local platform's "apiserver": custom resources in Redis, one key per object, optimistic concurrency with
// WATCH/MULTI, a monotonically increasing resourceVersion, generation bumped on spec changes, and a pub/sub
// channel that plays the part of a watch.
import { randomUUID } from 'node:crypto';
import { isDeepStrictEqual } from 'node:util';
import type { Redis } from 'ioredis';
import { connectRedis } from '../redis/connection.js';
import type { OwnerReference, Resource } from '../../crds/definition.js';
import { admitManifest } from './admit-manifest.js';
import type { ResourceKey, ResourceStore, WatchEvent, OwnedResourceWriter, OwnerRef } from '../../actors/ports/resource-store.js';
import { keyOfResource } from '../../actors/ports/resource-store.js';

const objKey = (k: ResourceKey) => `pgop:obj:${k.kind}:${k.namespace}:${k.name}`;
const rvKey = (k: ResourceKey) => `pgop:objrv:${k.kind}:${k.namespace}:${k.name}`;
const indexKey = (kind: string) => `pgop:idx:${kind}`;
const CHANNEL = 'pgop:events';
const RV_PLACEHOLDER = '__PGOP_RESOURCE_VERSION__';

// Compare-and-set in one script: the write happens only if the object's resourceVersion is still the one the
// caller read ('' = absent). WATCH/MULTI would not do here: one connection serves many actors at once.
const CAS_SCRIPT = `
local cur = redis.call('GET', KEYS[2]) or ''
if cur ~= ARGV[1] then return 0 end
if ARGV[2] == 'del' then
  redis.call('DEL', KEYS[1], KEYS[2]); redis.call('SREM', KEYS[3], KEYS[1])
else
  local rv = tostring(redis.call('INCR', 'pgop:rv'))
  local body = string.gsub(ARGV[3], '${RV_PLACEHOLDER}', rv, 1)
  redis.call('SET', KEYS[1], body); redis.call('SET', KEYS[2], rv); redis.call('SADD', KEYS[3], KEYS[1])
end
redis.call('PUBLISH', '${CHANNEL}', ARGV[4])
return 1`;

interface CasRedis extends Redis {
  pgopCas(obj: string, rv: string, index: string, expected: string, op: 'set' | 'del', body: string, event: string): Promise<number>;
}

export class ConflictError extends Error {}

/** What a manifest sets besides metadata: spec for pgop's kinds, type/data for Secrets. */
function bodyOf(r: Resource): Record<string, unknown> {
  const { metadata: _m, status: _s, apiVersion: _a, kind: _k, ...body } = r as unknown as Record<string, unknown>;
  return body;
}

export class RedisResourceStore implements ResourceStore, OwnedResourceWriter {
  private readonly cas: CasRedis;

  constructor(readonly redis: Redis, private readonly now: () => Date = () => new Date()) {
    redis.defineCommand('pgopCas', { numberOfKeys: 3, lua: CAS_SCRIPT });
    this.cas = redis as CasRedis;
  }

  static connect(url: string): RedisResourceStore {
    return new RedisResourceStore(connectRedis(url, { maxRetriesPerRequest: 3 }));
  }

  async close(): Promise<void> { this.redis.disconnect(); }

  async get(key: ResourceKey): Promise<Resource | undefined> {
    const raw = await this.redis.get(objKey(key));
    return raw ? (JSON.parse(raw) as Resource) : undefined;
  }

  async list(kind: string): Promise<Resource[]> {
    const members = await this.redis.smembers(indexKey(kind));
    if (!members.length) return [];
    const raws = await this.redis.mget(members);
    return raws.filter((r): r is string => r !== null).map((r) => JSON.parse(r) as Resource)
      .sort((a, b) => `${a.metadata.namespace}/${a.metadata.name}`.localeCompare(`${b.metadata.namespace}/${b.metadata.name}`));
  }

  async applyOwned(resource: Resource, owner: OwnerRef): Promise<'created' | 'configured' | 'unchanged'> {
    const { ownerReferences: _o, ...metadata } = resource.metadata as Resource['metadata'] & { ownerReferences?: unknown };
    return (await this.apply({ ...resource, metadata }, owner)).action;
  }

  async deleteOwned(key: ResourceKey): Promise<void> {
    await this.delete(key);
  }

  /** Create or update from a user manifest: admission (schema, defaults, CEL incl. transition rules) first. */
  async apply(manifest: unknown, owner?: OwnerRef): Promise<{ resource: Resource; action: 'created' | 'configured' | 'unchanged' }> {
    for (let attempt = 0; attempt < 10; attempt++) {
      const probe = admitManifest(manifest);
      const key = keyOfResource(probe);
      const old = await this.get(key);
      if (old?.metadata.deletionTimestamp) {
        throw new Error(`${key.kind} ${key.namespace}/${key.name} is being deleted; wait for it to go away before applying it again`);
      }
      const next = admitManifest(manifest, old);
      let action: 'created' | 'configured' | 'unchanged';
      let stored: Resource;
      if (!old) {
        action = 'created';
        stored = { ...next, metadata: {
          ...next.metadata, uid: randomUUID(), generation: 1, creationTimestamp: this.now().toISOString(),
          ...(owner ? { ownerReferences: [{ ...owner, controller: true, blockOwnerDeletion: true }] } : {}),
        } };
      } else {
        const specChanged = !isDeepStrictEqual(bodyOf(old), bodyOf(next));
        const metaChanged = !isDeepStrictEqual(old.metadata.labels, next.metadata.labels) || !isDeepStrictEqual(old.metadata.annotations, next.metadata.annotations);
        action = specChanged || metaChanged ? 'configured' : 'unchanged';
        if (action === 'unchanged') return { resource: old, action };
        stored = {
          ...old,
          ...bodyOf(next),
          metadata: {
            ...old.metadata, labels: next.metadata.labels, annotations: next.metadata.annotations,
            generation: (old.metadata.generation ?? 1) + (specChanged ? 1 : 0),
          },
        };
      }
      const rv = await this.commit(key, old, stored, old ? 'MODIFIED' : 'ADDED');
      if (rv) return { resource: { ...stored, metadata: { ...stored.metadata, resourceVersion: rv } }, action };
    }
    throw new ConflictError('too many concurrent writers; try again');
  }

  /** Creates an object a controller owns: admitted like a manifest, then stored with its owner reference. */
  async create(manifest: Resource, owner: OwnerReference): Promise<'created' | 'exists'> {
    const next = admitManifest(manifest);
    const key = keyOfResource(next);
    for (let attempt = 0; attempt < 10; attempt++) {
      const old = await this.get(key);
      if (old) {
        if (old.metadata.ownerReferences?.some((o) => o.uid === owner.uid)) return 'exists';
        throw new Error(`${key.kind} ${key.namespace}/${key.name} already exists and is not owned by ${owner.kind} ${owner.name}`);
      }
      const stored: Resource = {
        ...next,
        metadata: { ...next.metadata, uid: randomUUID(), generation: 1, creationTimestamp: this.now().toISOString(), ownerReferences: [owner] },
      };
      if (await this.commit(key, undefined, stored, 'ADDED')) return 'created';
    }
    throw new ConflictError('too many concurrent writers; try again');
  }

  async remove(key: ResourceKey): Promise<void> { await this.delete(key); }

  /** Marks for deletion (finalizers run first); without finalizers the object goes at once. */
  async delete(key: ResourceKey): Promise<'deleting' | 'deleted' | 'absent'> {
    for (let attempt = 0; attempt < 10; attempt++) {
      const obj = await this.get(key);
      if (!obj) return 'absent';
      if (!obj.metadata.finalizers?.length) {
        if (await this.erase(key, obj)) return 'deleted';
        continue;
      }
      if (obj.metadata.deletionTimestamp) return 'deleting';
      const marked = { ...obj, metadata: { ...obj.metadata, deletionTimestamp: this.now().toISOString() } };
      if (await this.commit(key, obj, marked, 'MODIFIED')) return 'deleting';
    }
    throw new ConflictError('too many concurrent writers; try again');
  }

  async patchStatus(key: ResourceKey, mutate: (s: Record<string, unknown>) => Record<string, unknown>): Promise<void> {
    await this.update(key, (obj) => {
      const before = (obj.status ?? {}) as Record<string, unknown>;
      const after = mutate(structuredClone(before));
      return isDeepStrictEqual(before, after) ? undefined : { ...obj, status: after };
    }, false);
  }

  /** Sets (or, with null, removes) annotations; no generation change, like kubectl annotate. */
  async annotate(key: ResourceKey, annotations: Record<string, string | null>): Promise<void> {
    await this.update(key, (obj) => {
      const next = { ...(obj.metadata.annotations ?? {}) };
      for (const [k, v] of Object.entries(annotations)) { if (v === null) delete next[k]; else next[k] = v; }
      return { ...obj, metadata: { ...obj.metadata, annotations: next } };
    }, false);
  }

  async addFinalizer(key: ResourceKey, finalizer: string): Promise<void> {
    await this.update(key, (obj) => (obj.metadata.finalizers?.includes(finalizer) || obj.metadata.deletionTimestamp
      ? undefined
      : { ...obj, metadata: { ...obj.metadata, finalizers: [...(obj.metadata.finalizers ?? []), finalizer] } }), false);
  }

  async removeFinalizer(key: ResourceKey, finalizer: string): Promise<void> {
    await this.update(key, (obj) => {
      if (!obj.metadata.finalizers?.includes(finalizer)) return undefined;
      return { ...obj, metadata: { ...obj.metadata, finalizers: obj.metadata.finalizers.filter((f) => f !== finalizer) } };
    }, true);
  }

  async watch(onEvent: (e: WatchEvent) => void): Promise<() => Promise<void>> {
    const sub = this.redis.duplicate();
    sub.on('message', (_channel: string, message: string) => onEvent(JSON.parse(message) as WatchEvent));
    await sub.subscribe(CHANNEL);
    return async () => { sub.disconnect(); };
  }

  private async update(key: ResourceKey, fn: (obj: Resource) => Resource | undefined, collect: boolean): Promise<void> {
    for (let attempt = 0; attempt < 20; attempt++) {
      const current = await this.get(key);
      if (!current) return;
      const next = fn(structuredClone(current));
      if (!next) return;
      if (collect && next.metadata.deletionTimestamp && !next.metadata.finalizers?.length) {
        if (await this.erase(key, current)) return;
        continue;
      }
      if (await this.commit(key, current, next, 'MODIFIED')) return;
    }
    throw new ConflictError(`could not update ${key.kind} ${key.namespace}/${key.name}: too many concurrent writers`);
  }

  /** Writes `next` if the stored object is still `prev`; returns the new resourceVersion, or null on conflict. */
  private async commit(key: ResourceKey, prev: Resource | undefined, next: Resource, type: WatchEvent['type']): Promise<string | null> {
    const body = JSON.stringify({ ...next, metadata: { ...next.metadata, resourceVersion: RV_PLACEHOLDER } });
    const ok = await this.cas.pgopCas(objKey(key), rvKey(key), indexKey(key.kind), prev?.metadata.resourceVersion ?? '', 'set', body, JSON.stringify({ type, key }));
    if (!ok) return null;
    return (await this.redis.get(rvKey(key))) ?? null;
  }

  private async erase(key: ResourceKey, prev: Resource): Promise<boolean> {
    const event = JSON.stringify({ type: 'DELETED', key });
    return (await this.cas.pgopCas(objKey(key), rvKey(key), indexKey(key.kind), prev.metadata.resourceVersion ?? '', 'del', '', event)) === 1;
  }
}
