// The contract between the generic runtime and one kind — controller-runtime's
// `For(&Kind{}).Owns(&Pod{}).Watches(&Other{}, mapFn)` read as data. A binding is pure: it names the machine,
// turns a stored object into the machine's input and events, and a snapshot into the status to write. It never
// does I/O; the effects come from the implementations factory the composition root pairs it with (registry.ts).
import type { AnyStateMachine, EventFromLogic, InputFrom, SnapshotFrom } from 'xstate';
import type { Resource } from '../crds/definition.js';
import type { MachineId } from '../machines/shared/versions.js';
import type { ResourceKey, ResourceReader } from './ports/resource-store.js';
import type { ConditionIntent } from '../machines/shared/conditions.js';

/** What `machine.provide()` takes: the effect slots a binding's implementations factory fills. */
export type ImplementationsOf<M extends AnyStateMachine> = Parameters<M['provide']>[0];

/** A Kubernetes Event worth recording (phase changes, finished plans). */
export interface Notice { type: 'Normal' | 'Warning'; reason: string; message: string }

/**
 * Another kind whose changes re-trigger objects of this binding's kind (Owns / Watches). `enqueue` maps the key of
 * the object that changed to the keys of this kind to sync; it may read the store (e.g. list the users of a cluster).
 */
export interface Trigger {
  kind: string;
  enqueue(changed: ResourceKey, store: ResourceReader): Promise<ResourceKey[]>;
}

export interface KindBinding<M extends AnyStateMachine> {
  /** The custom resource kind this binding reconciles (For). */
  kind: string;
  /** Names the machine in snapshot envelopes and in MACHINE_VERSIONS (machines/shared/versions.ts). */
  machineId: MachineId;
  /** The machine with its effect slots still empty; the runtime provides the implementations. */
  machine: M;
  /** Input for a fresh actor (no persisted snapshot). */
  input(resource: Resource): InputFrom<M>;
  /** Events that bring the machine up to date with the stored object (spec generation, deletion, annotations). */
  eventsFor(resource: Resource, snapshot: SnapshotFrom<M>): EventFromLogic<M>[];
  /** The status to write (without `machine`, which the runtime adds); `previous` keeps condition times. Pure. */
  status(snapshot: SnapshotFrom<M>, previous: Record<string, unknown>, now: Date): Record<string, unknown>;
  /** The spec generation the snapshot has acted on (status.observedGeneration and the envelope). */
  generationOf(snapshot: SnapshotFrom<M>): number;
  /** Owned and referenced kinds whose changes re-trigger this kind. */
  watches?: readonly Trigger[];
  /** Events to record when a snapshot follows another (phase changes, finished plans). Pure. */
  notices?(before: SnapshotFrom<M> | undefined, after: SnapshotFrom<M>): Notice[];
  /**
   * Set for a second machine attached to objects of `kind` (e.g. restore rehearsals of a PostgresCluster). It runs
   * in the object's lane beside the kind's own machine, only while `runsFor` holds; `status` is the value of
   * `status[field]`, where its snapshot is kept too; `conditions` are merged into the object's conditions. The
   * kind's own status writes carry that field and those condition types over. It adds no finalizer.
   */
  attached?: AttachedTo<M>;
}

export interface AttachedTo<M extends AnyStateMachine> {
  field: string;
  conditionTypes: readonly string[];
  runsFor(resource: Resource): boolean;
  conditions(snapshot: SnapshotFrom<M>): ConditionIntent[];
}

/** The runtime as the implementations of a kind may see it: other actors' snapshots and a way to send them events. */
export interface RuntimeView {
  snapshot(key: ResourceKey): unknown;
  send(key: ResourceKey, event: { type: string }): boolean;
  keys(kind: string): ResourceKey[];
  /**
   * Every change the store's one watch reports, for effects that follow other objects (a cluster's image catalog)
   * without a watch or a poll of their own; returns the unsubscribe.
   */
  onChange: ChangeFeed;
}

/** Subscribes to every change the runtime's watch reports; returns the unsubscribe. */
export type ChangeFeed = (listener: (key: ResourceKey) => void) => () => void;

/**
 * Owns(&Kind{}): objects of `kind` carrying an owner reference (`metadata.ownerReferences`) to an object of the
 * binding's kind re-trigger their owner.
 */
export function owns(kind: string, ownerKind: string): Trigger {
  return {
    kind,
    async enqueue(changed, store) {
      const r = await store.get(changed);
      const refs = (r?.metadata as { ownerReferences?: { kind: string; name: string }[] } | undefined)?.ownerReferences ?? [];
      return refs.filter((o) => o.kind === ownerKind).map((o) => ({ kind: ownerKind, namespace: changed.namespace, name: o.name }));
    },
  };
}

/**
 * Watches(&Kind{}, byReference): objects of the binding's kind that name the changed object (e.g. a PostgresUser's
 * `spec.cluster`) in the same namespace are synced when it changes.
 */
export function referencedBy(kind: string, ownKind: string, refOf: (own: Resource) => string | undefined): Trigger {
  return {
    kind,
    async enqueue(changed, store) {
      const own = await store.list(ownKind);
      return own
        .filter((r) => (r.metadata.namespace ?? '') === changed.namespace && refOf(r) === changed.name)
        .map((r) => ({ kind: ownKind, namespace: r.metadata.namespace ?? '', name: r.metadata.name }));
    },
  };
}
