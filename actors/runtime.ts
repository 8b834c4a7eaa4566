// The generic runtime: for every registered kind, one controller (one persisted actor per object) fed by the
// store's watch and a periodic resync through one ordered lane per object key; other kinds' changes re-trigger
// the objects that watch them; served kinds without a binding get a NotImplemented condition. It knows no kind
// by name and imports no adapter: the composition root (bin/) passes the ports and the registrations.
import type { AnyStateMachine, InspectionEvent } from 'xstate';
import type { Resource } from '../crds/definition.js';
import type { Logger } from './ports/logger.js';
import type { RuntimeMetrics } from './ports/metrics.js';
import { keyString, keyOfResource, type ResourceKey, type ResourceStore } from './ports/resource-store.js';
import type { Notice, RuntimeView } from './binding.js';
import type { KindRegistration } from './registry.js';
import { ResourceController } from './resource-controller.js';
import { Lanes } from './lanes.js';
import { markNotImplemented } from './unimplemented.js';

export interface RuntimeOptions<D> {
  store: ResourceStore;
  log: Logger;
  registrations: readonly KindRegistration<D>[];
  /** What the implementations factories need (platform, queues, ...), built by the composition root. */
  deps: D;
  /** Every kind the platform serves; those without a registration are marked NotImplemented. */
  servedKinds: readonly string[];
  metrics?: RuntimeMetrics;
  inspect?: (resource: string, log: Logger) => (e: InspectionEvent) => void;
  onNotice?: (key: ResourceKey, notice: Notice) => void;
  /** Called with each new snapshot of a kind's actor, for per-kind wiring in the composition root. */
  onSnapshot?: (key: ResourceKey, before: unknown, after: unknown) => void;
  /** The same for attached machines (a second machine on an object, e.g. restore rehearsals), by machine id. */
  onAttachedSnapshot?: (machineId: string, key: ResourceKey, before: unknown, after: unknown) => void;
  /** An object's machine finished its deletion (before its finalizer goes): remove its queued jobs. */
  onFinished?: (key: ResourceKey, uid: string) => Promise<void>;
  resyncMs?: number;
  now?: () => Date;
}

export interface Runtime extends RuntimeView {
  controller(kind: string): ResourceController<AnyStateMachine> | undefined;
  /** Resync every kind now (also runs every `resyncMs`). */
  resync(): Promise<void>;
  stop(): Promise<void>;
}

export async function startRuntime<D>(o: RuntimeOptions<D>): Promise<Runtime> {
  const { store, log } = o;
  const now = () => o.now?.() ?? new Date();
  const controllers = new Map<string, ResourceController<AnyStateMachine>>();
  const changeListeners = new Set<(key: ResourceKey) => void>();
  const view: RuntimeView = {
    snapshot: (key) => controllers.get(key.kind)?.snapshot(key),
    send: (key, event) => controllers.get(key.kind)?.send(key, event) ?? false,
    keys: (kind) => (controllers.get(kind)?.keys() ?? []).map((id) => {
      const [k = '', namespace = '', ...rest] = id.split('/');
      return { kind: k, namespace, name: rest.join('/') };
    }),
    onChange: (listener) => { changeListeners.add(listener); return () => { changeListeners.delete(listener); }; },
  };
  // Attached machines (a second machine on the same objects, its own status field) run in their owner's lanes.
  const attached = new Map<string, ResourceController<AnyStateMachine>[]>();
  const carried = (kind: string) => {
    const regs = o.registrations.filter((r) => r.binding.kind === kind && r.binding.attached);
    return { fields: regs.map((r) => r.binding.attached!.field), conditionTypes: regs.flatMap((r) => [...r.binding.attached!.conditionTypes]) };
  };
  for (const reg of o.registrations) {
    const { binding } = reg;
    const machine = binding.machine.provide(reg.implementations(o.deps, view));
    if (binding.attached) {
      attached.set(binding.kind, [...(attached.get(binding.kind) ?? []), new ResourceController(binding, store, log, {
        machine,
        ...(o.now ? { now: o.now } : {}),
        ...(o.inspect ? { inspect: o.inspect } : {}),
        ...(o.onNotice ? { onNotice: o.onNotice } : {}),
        onSnapshot: (key, before, after) => o.onAttachedSnapshot?.(binding.machineId, key, before, after),
        onWriteError: () => o.metrics?.reconcileError(binding.kind),
      })]);
      continue;
    }
    if (controllers.has(binding.kind)) throw new Error(`two bindings registered for ${binding.kind}`);
    controllers.set(binding.kind, new ResourceController(binding, store, log, {
      carried: carried(binding.kind),
      machine,
      ...(o.now ? { now: o.now } : {}),
      ...(o.inspect ? { inspect: o.inspect } : {}),
      ...(reg.extraStatus ? { extraStatus: (key: ResourceKey) => reg.extraStatus!(key, o.deps) } : {}),
      onSnapshot: (key, before, after) => {
        const snap = after as { status: string; value: unknown };
        o.metrics?.resourceState(binding.kind, `${key.namespace}/${key.name}`, snap.status === 'done' ? null : stateLabel(snap.value));
        o.onSnapshot?.(key, before, after);
      },
      ...(o.onNotice ? { onNotice: o.onNotice } : {}),
      ...(o.onFinished ? { onFinished: o.onFinished } : {}),
      onWriteError: () => o.metrics?.reconcileError(binding.kind),
    }));
  }
  const unimplemented = o.servedKinds.filter((k) => !controllers.has(k));

  const lanes = new Lanes((id, e) => {
    o.metrics?.reconcileError(id.split('/')[0] ?? '');
    log.error({ resource: id, err: (e as Error).message }, 'sync failed');
  });
  let stopped = false;
  const syncKey = (key: ResourceKey): Promise<void> => {
    if (stopped) return Promise.resolve();
    const id = keyString(key);
    const ctl = controllers.get(key.kind);
    if (ctl) {
      return lanes.run(id, async () => {
        const r = await store.get(key);
        if (r) await ctl.sync(r); else await ctl.release(id);
        for (const a of attached.get(key.kind) ?? []) { if (r) await a.sync(r); else await a.release(id); }
      });
    }
    if (unimplemented.includes(key.kind)) {
      return lanes.run(id, async () => {
        const r = await store.get(key);
        if (r && !r.metadata.deletionTimestamp) await markNotImplemented(store, key, r, now());
      });
    }
    return Promise.resolve();
  };
  const triggered = async (changed: ResourceKey) => {
    for (const reg of o.registrations) {
      for (const t of reg.binding.watches ?? []) {
        if (t.kind !== changed.kind) continue;
        for (const key of await t.enqueue(changed, store)) void syncKey(key);
      }
    }
  };

  const unwatch = await store.watch((e) => {
    for (const listener of changeListeners) {
      try { listener(e.key); } catch (err) { log.error({ resource: keyString(e.key), err: (err as Error).message }, 'change listener failed'); }
    }
    void syncKey(e.key);
    void triggered(e.key).catch((err: unknown) => log.error({ resource: keyString(e.key), err: (err as Error).message }, 'trigger failed'));
  });

  const resync = async () => {
    for (const [kind, ctl] of controllers) {
      if (stopped) return;
      const objects = await store.list(kind);
      // Through the lanes, so a resync never overlaps a watch-driven sync of the same object.
      const extra = attached.get(kind) ?? [];
      await Promise.all(objects.map((r) => lanes.run(keyString(keyOfResource(r)), async () => {
        await ctl.sync(r);
        for (const a of extra) await a.sync(r);
      })));
      const seen = new Set(objects.map((r) => keyString(keyOfResource(r))));
      for (const id of ctl.keys()) if (!seen.has(id)) await lanes.run(id, () => ctl.release(id));
      for (const a of extra) for (const id of a.keys()) if (!seen.has(id)) await lanes.run(id, () => a.release(id));
      o.metrics?.actors(kind, ctl.size);
    }
    for (const kind of unimplemented) {
      const objects: Resource[] = await store.list(kind).catch(() => []);
      await Promise.all(objects.map((r) => syncKey(keyOfResource(r))));
    }
  };
  await resync();

  let resyncing = false;
  const timer = setInterval(() => {
    if (stopped || resyncing) return;
    resyncing = true;
    void resync()
      .catch((e: unknown) => log.error({ loop: 'resync', err: (e as Error).message }, 'loop iteration failed'))
      .finally(() => { resyncing = false; });
  }, o.resyncMs ?? 10_000);

  return {
    ...view,
    controller: (kind) => controllers.get(kind),
    resync,
    async stop() {
      stopped = true;
      clearInterval(timer);
      await unwatch();
      await lanes.idle();
      for (const ctl of controllers.values()) await ctl.stopAll();
      for (const list of attached.values()) for (const a of list) await a.stopAll();
    },
  };
}

export const stateLabel = (value: unknown): string =>
  typeof value === 'string' ? value : Object.entries((value ?? {}) as Record<string, unknown>).map(([k, v]) => `${k}.${stateLabel(v)}`).join(',');
