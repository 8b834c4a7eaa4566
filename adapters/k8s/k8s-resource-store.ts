// The ResourceStore on a real apiserver: custom objects read and written through client-node, status through one
// door (reread → pure mutation → skip if equal → replace with resourceVersion → retry on conflict), finalizers the
// same way, and supervised informers as the watch (restarted on errors, relisted periodically).
import { CustomObjectsApi, makeInformer, type KubeConfig, type KubernetesObject, type Informer, type ObjectCache } from '@kubernetes/client-node';
import { isDeepStrictEqual } from 'node:util';
import type { OwnerReference, Resource } from '../../crds/definition.js';
import { GROUP, VERSION, API_VERSION } from '../../crds/definition.js';
import { definitionFor, definitions } from '../../crds/registry.js';
import type { ResourceKey, ResourceStore, WatchEvent, OwnedResourceWriter, OwnerRef } from '../../actors/ports/resource-store.js';
import { httpStatus } from './client.js';
import type { Logger } from '../logging/logger.js';

const MAX_CONFLICT_RETRIES = 10;

export class K8sResourceStore implements ResourceStore, OwnedResourceWriter {
  private readonly co: CustomObjectsApi;

  /** `namespace` limits namespaced kinds to one namespace (the chart's watchNamespace); cluster-scoped kinds are global. */
  constructor(private readonly kc: KubeConfig, private readonly log: Logger, private readonly resyncMs = 10 * 60_000, private readonly namespace = '') {
    this.co = kc.makeApiClient(CustomObjectsApi);
  }

  private plural(kind: string): { plural: string; namespaced: boolean } {
    const def = definitionFor(kind);
    if (!def) throw new Error(`unknown kind ${kind}`);
    return { plural: def.plural, namespaced: def.scope === 'Namespaced' };
  }

  async get(key: ResourceKey): Promise<Resource | undefined> {
    const { plural, namespaced } = this.plural(key.kind);
    try {
      const obj = namespaced
        ? await this.co.getNamespacedCustomObject({ group: GROUP, version: VERSION, namespace: key.namespace, plural, name: key.name })
        : await this.co.getClusterCustomObject({ group: GROUP, version: VERSION, plural, name: key.name });
      return obj as Resource;
    } catch (e) {
      if (httpStatus(e) === 404) return undefined;
      throw e;
    }
  }

  async list(kind: string): Promise<Resource[]> {
    const { plural, namespaced } = this.plural(kind);
    const res = await this.listCall(plural, namespaced)() as { items: Resource[] };
    return res.items.map((r) => ({ ...r, apiVersion: API_VERSION, kind }));
  }

  private listCall(plural: string, namespaced: boolean, limit?: number) {
    const one = namespaced && this.namespace !== '';
    return () => (one
      ? this.co.listNamespacedCustomObject({ group: GROUP, version: VERSION, namespace: this.namespace, plural, ...(limit ? { limit } : {}) })
      : this.co.listClusterCustomObject({ group: GROUP, version: VERSION, plural, ...(limit ? { limit } : {}) }));
  }

  /** The apiserver admits (schema, defaults, CEL); the garbage collector deletes what the owner owned. */
  async applyOwned(resource: Resource, owner: OwnerRef): Promise<'created' | 'configured' | 'unchanged'> {
    const key = { kind: resource.kind, namespace: resource.metadata.namespace ?? '', name: resource.metadata.name };
    const { plural } = this.plural(key.kind);
    const ownerReferences = [{ ...owner, controller: true, blockOwnerDeletion: true }];
    const current = await this.get(key);
    if (!current) {
      const body = { apiVersion: API_VERSION, kind: resource.kind, metadata: { name: key.name, namespace: key.namespace, labels: resource.metadata.labels ?? {}, ownerReferences }, spec: resource.spec };
      try {
        await this.co.createNamespacedCustomObject({ group: GROUP, version: VERSION, namespace: key.namespace, plural, body });
        return 'created';
      } catch (e) {
        if (httpStatus(e) !== 409) throw e;
      }
    }
    let changed = false;
    await this.update(key, (obj) => {
      if (isDeepStrictEqual(obj.spec, resource.spec) && isDeepStrictEqual(obj.metadata.labels ?? {}, resource.metadata.labels ?? {})) return undefined;
      changed = true;
      return { ...obj, spec: resource.spec, metadata: { ...obj.metadata, labels: resource.metadata.labels ?? {} } };
    }, false);
    return changed ? 'configured' : 'unchanged';
  }

  async deleteOwned(key: ResourceKey): Promise<void> {
    const { plural } = this.plural(key.kind);
    try {
      await this.co.deleteNamespacedCustomObject({ group: GROUP, version: VERSION, namespace: key.namespace, plural, name: key.name });
    } catch (e) {
      if (httpStatus(e) !== 404) throw e;
    }
  }

  async create(manifest: Resource, owner: OwnerReference): Promise<'created' | 'exists'> {
    const { plural } = this.plural(manifest.kind);
    const namespace = manifest.metadata.namespace ?? 'default';
    const body = { ...manifest, apiVersion: API_VERSION, metadata: { ...manifest.metadata, namespace, ownerReferences: [owner] } };
    try {
      await this.co.createNamespacedCustomObject({ group: GROUP, version: VERSION, namespace, plural, body });
      return 'created';
    } catch (e) {
      if (httpStatus(e) !== 409) throw e;
      const old = await this.get({ kind: manifest.kind, namespace, name: manifest.metadata.name });
      if (old?.metadata.ownerReferences?.some((o) => o.uid === owner.uid)) return 'exists';
      throw new Error(`${manifest.kind} ${namespace}/${manifest.metadata.name} already exists and is not owned by ${owner.kind} ${owner.name}`);
    }
  }

  async remove(key: ResourceKey): Promise<void> {
    const { plural } = this.plural(key.kind);
    try {
      await this.co.deleteNamespacedCustomObject({ group: GROUP, version: VERSION, namespace: key.namespace, plural, name: key.name, propagationPolicy: 'Background' });
    } catch (e) {
      if (httpStatus(e) !== 404) throw e;
    }
  }

  async patchStatus(key: ResourceKey, mutate: (s: Record<string, unknown>) => Record<string, unknown>): Promise<void> {
    await this.update(key, (obj) => {
      const before = (obj.status ?? {}) as Record<string, unknown>;
      const after = mutate(structuredClone(before));
      return isDeepStrictEqual(before, after) ? undefined : { ...obj, status: after };
    }, true);
  }

  async addFinalizer(key: ResourceKey, finalizer: string): Promise<void> {
    await this.update(key, (obj) => (obj.metadata.finalizers?.includes(finalizer) || obj.metadata.deletionTimestamp
      ? undefined : { ...obj, metadata: { ...obj.metadata, finalizers: [...(obj.metadata.finalizers ?? []), finalizer] } }), false);
  }

  async removeFinalizer(key: ResourceKey, finalizer: string): Promise<void> {
    await this.update(key, (obj) => (!obj.metadata.finalizers?.includes(finalizer)
      ? undefined : { ...obj, metadata: { ...obj.metadata, finalizers: obj.metadata.finalizers.filter((f) => f !== finalizer) } }), false);
  }

  /** Supervised informers, one per kind: client-node stops an informer on any error but 410, so we restart it. */
  async watch(onEvent: (e: WatchEvent) => void): Promise<() => Promise<void>> {
    let stopping = false;
    const informers: (Informer<KubernetesObject> & ObjectCache<KubernetesObject>)[] = [];
    for (const def of definitions) {
      const namespaced = def.scope === 'Namespaced' && this.namespace !== '';
      const path = namespaced ? `/apis/${GROUP}/${VERSION}/namespaces/${this.namespace}/${def.plural}` : `/apis/${GROUP}/${VERSION}/${def.plural}`;
      const informer = makeInformer(this.kc, path, this.listCall(def.plural, def.scope === 'Namespaced') as never);
      const emit = (type: WatchEvent['type']) => (obj: KubernetesObject) => onEvent({ type, key: { kind: def.kind, namespace: obj.metadata?.namespace ?? '', name: obj.metadata?.name ?? '' } });
      informer.on('add', emit('ADDED'));
      informer.on('update', emit('MODIFIED'));
      informer.on('delete', emit('DELETED'));
      let restarting = false;
      informer.on('error', (err: unknown) => {
        // An abort is ours: stop() and start() abort the watch request in flight, and the informer reports that as an
        // error. Restarting on it made every restart abort the watch of the one before: after the first resync each
        // kind relisted every 2 s for good, a load of its own on the apiserver.
        if (stopping || restarting || (err as Error | undefined)?.name === 'AbortError') return;
        restarting = true;
        this.log.warn({ kind: def.kind, err: (err as Error)?.message }, 'informer stopped; restarting');
        setTimeout(() => { restarting = false; if (!stopping) void informer.start().catch(() => undefined); }, 2000);
      });
      // A just-established CRD answers 429 while its watch cache initializes; the informer would only report it as
      // an error event, so wait until a plain list works before starting it.
      for (let attempt = 0; ; attempt++) {
        try { await this.listCall(def.plural, def.scope === 'Namespaced', 1)(); break; } catch (e) {
          if (attempt >= 60) throw e;
          await new Promise((r) => setTimeout(r, 500));
        }
      }
      await informer.start();
      informers.push(informer);
    }
    // Watches can go quiet without an error (half-open connections): restart them now and then.
    const resync = setInterval(() => {
      for (const i of informers) void i.stop().then(() => { if (!stopping) return i.start(); }).catch(() => undefined);
    }, this.resyncMs);
    return async () => {
      stopping = true;
      clearInterval(resync);
      for (const i of informers) await i.stop().catch(() => undefined);
    };
  }

  private async update(key: ResourceKey, fn: (obj: Resource) => Resource | undefined, status: boolean): Promise<void> {
    const { plural, namespaced } = this.plural(key.kind);
    for (let attempt = 0; attempt < MAX_CONFLICT_RETRIES; attempt++) {
      const current = await this.get(key);
      if (!current) return;
      const next = fn(structuredClone(current));
      if (!next) return;
      // The resourceVersion read above is the precondition: a concurrent writer makes this a 409.
      const args = { group: GROUP, version: VERSION, plural, name: key.name, body: next };
      try {
        if (status) {
          if (namespaced) await this.co.replaceNamespacedCustomObjectStatus({ ...args, namespace: key.namespace });
          else await this.co.replaceClusterCustomObjectStatus(args);
        } else if (namespaced) await this.co.replaceNamespacedCustomObject({ ...args, namespace: key.namespace });
        else await this.co.replaceClusterCustomObject(args);
        return;
      } catch (e) {
        if (httpStatus(e) === 404) return;
        if (httpStatus(e) !== 409) throw e;
      }
    }
    throw new Error(`${key.kind} ${key.namespace}/${key.name}: too many conflicting writers`);
  }
}
