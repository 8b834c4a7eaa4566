// One actor per object of one kind (kind/namespace/name). Restores it from the persisted snapshot in
// status.machine, sends it the events an object change means, writes status + snapshot through one serialized
// writer per actor, and removes the finalizer when the machine reaches its final state.
import { createActor, type AnyStateMachine, type Actor, type EventFromLogic, type InspectionEvent, type SnapshotFrom } from 'xstate';
import type { Resource } from '../crds/definition.js';
import type { ResourceKey, ResourceStore } from './ports/resource-store.js';
import { FINALIZER, keyOfResource, keyString } from './ports/resource-store.js';
import type { Logger } from './ports/logger.js';
import type { KindBinding, Notice } from './binding.js';
import { envelope, readEnvelope } from './persistence/envelope.js';
import { SerializedWriter } from './persistence/serialized-writer.js';
import { conditionsOfTypes, upsertConditions, type Condition } from './status/conditions.js';

export type { KindBinding } from './binding.js';

interface Held<M extends AnyStateMachine> {
  actor: Actor<M>;
  writer: SerializedWriter<SnapshotFrom<M>>;
}

export interface ControllerOptions {
  now?: () => Date;
  /** The machine to run, its effect slots provided; the binding's bare machine when absent (tests, benches). */
  machine?: AnyStateMachine;
  /** An inspection observer per actor (transition logs and metrics, the Stately inspector, crash drills). */
  inspect?: (resource: string, log: Logger) => (e: InspectionEvent) => void;
  /** Platform status fields merged into the binding's status (e.g. local endpoint addresses). */
  extraStatus?: (key: ResourceKey) => Promise<Record<string, unknown>>;
  /** Each new snapshot after the previous one, for metrics and platform wiring. */
  onSnapshot?: (key: ResourceKey, before: unknown, after: unknown) => void;
  onNotice?: (key: ResourceKey, notice: Notice) => void;
  onWriteError?: (e: unknown) => void;
  /** The object's machine finished its deletion: clean up what is keyed on its uid (queued jobs). */
  onFinished?: (key: ResourceKey, uid: string) => Promise<void>;
  /** Status fields and condition types attached machines own: this controller's writes carry them over. */
  carried?: { fields: readonly string[]; conditionTypes: readonly string[] };
}

export class ResourceController<M extends AnyStateMachine> {
  private readonly held = new Map<string, Held<M>>();
  private readonly blocked = new Set<string>();

  constructor(
    readonly binding: KindBinding<M>,
    private readonly store: ResourceStore,
    private readonly log: Logger,
    private readonly options: ControllerOptions = {},
  ) {}

  private now(): Date { return this.options.now?.() ?? new Date(); }

  get size(): number { return this.held.size; }
  keys(): string[] { return [...this.held.keys()]; }

  /** Brings the resource's actor in line with the stored object; never awaits the machine's effects. */
  async sync(resource: Resource): Promise<void> {
    const key = keyOfResource(resource);
    const id = keyString(key);
    if (this.blocked.has(id)) return;
    const attached = this.binding.attached;
    if (attached && (resource.metadata.deletionTimestamp || !attached.runsFor(resource))) {
      await this.release(id);
      // Switched off (not deleted): its record and conditions go too, or the owner's writes would carry them on.
      const status = resource.status as Record<string, unknown> | undefined;
      if (!resource.metadata.deletionTimestamp && status?.[attached.field] !== undefined) {
        await this.store.patchStatus(key, (current) => {
          const { [attached.field]: _gone, ...rest } = current;
          return { ...rest, conditions: ((current.conditions as Condition[] | undefined) ?? []).filter((c) => !attached.conditionTypes.includes(c.type)) };
        });
      }
      return;
    }
    let held = this.held.get(id);
    if (!held) {
      if (!resource.metadata.deletionTimestamp && !attached) await this.store.addFinalizer(key, FINALIZER);
      const created = await this.spawn(resource);
      if (!created) return;
      held = created;
    }
    for (const event of this.binding.eventsFor(resource, held.actor.getSnapshot() as SnapshotFrom<M>)) held.actor.send(event);
  }

  /** Relist: spawn missing actors, update existing ones, stop actors whose resource is gone. */
  async resync(resources: Resource[]): Promise<void> {
    const seen = new Set<string>();
    for (const r of resources) { seen.add(keyString(keyOfResource(r))); await this.sync(r); }
    for (const id of [...this.held.keys()]) if (!seen.has(id)) await this.release(id);
    for (const id of [...this.blocked]) if (!seen.has(id)) this.blocked.delete(id);
  }

  /** Delivers an event to the resource's actor; false when there is no actor (yet). */
  send(key: ResourceKey, event: EventFromLogic<M>): boolean {
    const held = this.held.get(keyString(key));
    if (!held) return false;
    held.actor.send(event);
    return true;
  }

  snapshot(key: ResourceKey): SnapshotFrom<M> | undefined {
    return this.held.get(keyString(key))?.actor.getSnapshot() as SnapshotFrom<M> | undefined;
  }

  async release(id: string): Promise<void> {
    const held = this.held.get(id);
    if (!held) return;
    this.held.delete(id);
    held.actor.stop();
    await held.writer.flush();
  }

  async stopAll(): Promise<void> {
    for (const id of [...this.held.keys()]) await this.release(id);
  }

  private async spawn(resource: Resource): Promise<Held<M> | undefined> {
    const key = keyOfResource(resource);
    const id = keyString(key);
    const log = this.log.child({ resource: id, machine: this.binding.machineId });
    const root = resource.status as Record<string, unknown> | undefined;
    const home = (this.binding.attached ? root?.[this.binding.attached.field] : root) as { machine?: unknown } | undefined;
    const stored = readEnvelope(this.binding.machineId, home?.machine,
      { uid: resource.metadata.uid ?? '', generation: resource.metadata.generation ?? 1 });
    if (stored.kind === 'incompatible') return this.refuse(key, stored.reason, log);
    const machine = (this.options.machine ?? this.binding.machine) as M;
    const actor = createActor(machine, {
      input: this.binding.input(resource),
      ...(this.options.inspect ? { inspect: this.options.inspect(id, log) } : {}),
      ...(stored.kind === 'ok' ? { snapshot: stored.envelope.snapshot as never } : {}),
    }) as Actor<M>;
    if ((actor.getSnapshot() as { status: string }).status === 'error') {
      return this.refuse(key, 'the persisted snapshot does not fit this machine definition', log);
    }
    const writer = new SerializedWriter<SnapshotFrom<M>>(
      (snap) => this.persist(key, actor, snap, resource.metadata.uid ?? ''),
      (e) => { this.options.onWriteError?.(e); log.error({ err: (e as Error).message }, 'status write failed'); },
    );
    let before: SnapshotFrom<M> | undefined;
    actor.subscribe({
      next: (snap) => {
        const after = snap as SnapshotFrom<M>;
        this.options.onSnapshot?.(key, before, after);
        if (this.options.onNotice) for (const n of this.binding.notices?.(before, after) ?? []) this.options.onNotice(key, n);
        before = after;
        writer.submit(after);
      },
      error: (e) => log.error({ err: (e as Error).message }, 'machine failed'),
    });
    const held = { actor, writer };
    this.held.set(id, held);
    const migratedFrom = stored.kind === 'ok' ? stored.migratedFrom : undefined;
    log.info({ restored: stored.kind === 'ok', ...(migratedFrom !== undefined ? { migratedFrom } : {}) }, stored.kind === 'ok' ? 'actor restored from snapshot' : 'actor spawned');
    actor.start();
    return held;
  }

  private async persist(key: ResourceKey, actor: Actor<M>, snap: SnapshotFrom<M>, uid: string): Promise<void> {
    const done = (snap as { status: string }).status === 'done';
    const persisted = actor.getPersistedSnapshot();
    const now = this.now();
    const saved = envelope(this.binding.machineId, this.binding.generationOf(snap), persisted, now);
    const attached = this.binding.attached;
    if (attached) {
      // Only its own field and conditions: the rest of the status belongs to the kind's own machine.
      const value = this.binding.status(snap, {}, now);
      const intents = attached.conditions(snap);
      await this.store.patchStatus(key, (current) => ({
        ...current,
        [attached.field]: { ...value, machine: saved },
        conditions: upsertConditions(current.conditions as Condition[] | undefined, attached.conditionTypes, intents, now, (current.observedGeneration as number | undefined) ?? 0),
      }));
      if (done) setImmediate(() => { void this.release(keyString(key)); });
      return;
    }
    const previous = (await this.store.get(key))?.status as Record<string, unknown> | undefined;
    const own = this.binding.status(snap, previous ?? {}, now);
    const extra = this.options.extraStatus ? await this.options.extraStatus(key) : {};
    // The platform's own conditions (e.g. StorageResize) join the machine's by type instead of replacing them.
    const conditions = Array.isArray(extra.conditions) && Array.isArray(own.conditions)
      ? { conditions: [...(own.conditions as { type: string }[]), ...(extra.conditions as { type: string }[]).filter((c) => !(own.conditions as { type: string }[]).some((o) => o.type === c.type))] }
      : {};
    const status = { ...own, ...extra, ...conditions };
    const carried = this.options.carried;
    await this.store.patchStatus(key, (current) => ({
      ...status,
      ...(carried ? Object.fromEntries(carried.fields.filter((f) => current[f] !== undefined).map((f) => [f, current[f]])) : {}),
      ...(carried?.conditionTypes.length ? { conditions: [...(status.conditions as Condition[] | undefined ?? []), ...conditionsOfTypes(current.conditions, carried.conditionTypes)] } : {}),
      machine: saved,
    }));
    if (done) {
      // Cleanup must not hold the deletion: a job left behind expires on its own (removeOnComplete/removeOnFail).
      if (uid) await this.options.onFinished?.(key, uid).catch((e: unknown) => this.log.error({ resource: keyString(key), err: (e as Error).message }, 'cleanup after deletion failed'));
      await this.store.removeFinalizer(key, FINALIZER);
      // Not awaited: release flushes this very writer, which is still running this write.
      setImmediate(() => { void this.release(keyString(key)); });
    }
  }

  private async refuse(key: ResourceKey, reason: string, log: Logger): Promise<undefined> {
    this.blocked.add(keyString(key));
    log.error({ reason }, 'persisted snapshot not restorable; leaving the resource untouched');
    const now = this.now().toISOString();
    const attached = this.binding.attached;
    if (attached) {
      await this.store.patchStatus(key, (s) => ({ ...s, [attached.field]: { phase: 'Failed', message: `persisted machine snapshot cannot be restored: ${reason}` } }));
      return undefined;
    }
    await this.store.patchStatus(key, (s) => ({
      ...s,
      phase: 'Failed',
      phaseReason: `persisted machine snapshot cannot be restored: ${reason}`,
      conditions: [{ type: 'MachineSnapshotRestorable', status: 'False', reason: 'Incompatible', message: reason, lastTransitionTime: now }],
    }));
    return undefined;
  }
}
