// One actor per resource (kind/namespace/name). Restores it from the persisted snapshot in status.machine,
// sends it the events a resource change means, writes status + snapshot through one serialized writer per
// actor, and removes the finalizer when the machine reaches its final state.
import { createActor, type AnyStateMachine, type Actor, type EventFromLogic, type InputFrom, type SnapshotFrom } from 'xstate';
import type { Resource } from '../crds/definition.js';
import type { ResourceKey, ResourceStore } from '../adapters/store/resource-store.js';
import { FINALIZER, keyOfResource, keyString } from '../adapters/store/resource-store.js';
import type { MachineId } from '../machines/shared/versions.js';
import { envelope, readEnvelope } from './persistence/envelope.js';
import { SerializedWriter } from './persistence/serialized-writer.js';
import type { Logger } from '../adapters/logging/logger.js';
import { createActorInspection } from '../adapters/inspect/actor-inspection.js';

export interface KindBinding<M extends AnyStateMachine> {
  kind: string;
  machineId: MachineId;
  machine: M;
  input(resource: Resource): InputFrom<M>;
  /** Events that bring the machine up to date with the stored resource (spec generation, deletion). */
  eventsFor(resource: Resource, snapshot: SnapshotFrom<M>): EventFromLogic<M>[];
  /** The status to write, without the machine envelope; `previous` lets conditions keep their times. */
  status(snapshot: SnapshotFrom<M>, previous: Record<string, unknown>, key: ResourceKey, now: Date): Promise<Record<string, unknown>>;
  /** Called with each new snapshot, for platform wiring (e.g. endpoint targets). */
  onSnapshot?(key: ResourceKey, snapshot: SnapshotFrom<M>): void;
  generationOf(snapshot: SnapshotFrom<M>): number;
}

interface Held<M extends AnyStateMachine> {
  actor: Actor<M>;
  writer: SerializedWriter<SnapshotFrom<M>>;
}

export interface ControllerOptions {
  now?: () => Date;
  /** Every transition of every actor (children included), for metrics. */
  onTransition?: (machine: string, from: string, to: string) => void;
  /** Stream every actor to the Stately inspector through this relay. */
  inspectorUrl?: string;
  crashAt?: string;
  onWriteError?: (e: unknown) => void;
}

export class ResourceController<M extends AnyStateMachine> {
  private readonly held = new Map<string, Held<M>>();
  private readonly blocked = new Set<string>();

  constructor(
    private readonly binding: KindBinding<M>,
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
    let held = this.held.get(id);
    if (!held) {
      if (!resource.metadata.deletionTimestamp) await this.store.addFinalizer(key, FINALIZER);
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
    const stored = readEnvelope(this.binding.machineId, (resource.status as { machine?: unknown } | undefined)?.machine);
    if (stored.kind === 'incompatible') return this.refuse(key, stored.reason, log);
    const actor = createActor(this.binding.machine, {
      input: this.binding.input(resource),
      inspect: createActorInspection({
        log, resource: id,
        ...(this.options.onTransition ? { onTransition: this.options.onTransition } : {}),
        ...(this.options.inspectorUrl ? { inspectorUrl: this.options.inspectorUrl } : {}),
        ...(this.options.crashAt ? { crashAt: this.options.crashAt } : {}),
      }),
      ...(stored.kind === 'ok' ? { snapshot: stored.envelope.snapshot as never } : {}),
    }) as Actor<M>;
    if ((actor.getSnapshot() as { status: string }).status === 'error') {
      return this.refuse(key, 'the persisted snapshot does not fit this machine definition', log);
    }
    const writer = new SerializedWriter<SnapshotFrom<M>>(
      (snap) => this.persist(key, actor, snap),
      (e) => { this.options.onWriteError?.(e); log.error({ err: (e as Error).message }, 'status write failed'); },
    );
    actor.subscribe({
      next: (snap) => {
        this.binding.onSnapshot?.(key, snap as SnapshotFrom<M>);
        writer.submit(snap as SnapshotFrom<M>);
      },
      error: (e) => log.error({ err: (e as Error).message }, 'machine failed'),
    });
    const held = { actor, writer };
    this.held.set(id, held);
    log.info({ restored: stored.kind === 'ok' }, stored.kind === 'ok' ? 'actor restored from snapshot' : 'actor spawned');
    actor.start();
    return held;
  }

  private async persist(key: ResourceKey, actor: Actor<M>, snap: SnapshotFrom<M>): Promise<void> {
    const done = (snap as { status: string }).status === 'done';
    const persisted = actor.getPersistedSnapshot();
    const now = this.now();
    const previous = (await this.store.get(key))?.status as Record<string, unknown> | undefined;
    const status = await this.binding.status(snap, previous ?? {}, key, now);
    await this.store.patchStatus(key, () => ({ ...status, machine: envelope(this.binding.machineId, this.binding.generationOf(snap), persisted, now) }));
    if (done) {
      await this.store.removeFinalizer(key, FINALIZER);
      // Not awaited: release flushes this very writer, which is still running this write.
      setImmediate(() => { void this.release(keyString(key)); });
    }
  }

  private async refuse(key: ResourceKey, reason: string, log: Logger): Promise<undefined> {
    this.blocked.add(keyString(key));
    log.error({ reason }, 'persisted snapshot not restorable; leaving the resource untouched');
    const now = this.now().toISOString();
    await this.store.patchStatus(key, (s) => ({
      ...s,
      phase: 'Failed',
      phaseReason: `persisted machine snapshot cannot be restored: ${reason}`,
      conditions: [{ type: 'MachineSnapshotRestorable', status: 'False', reason: 'Incompatible', message: reason, lastTransitionTime: now }],
    }));
    return undefined;
  }
}
