// PostgresCluster ⇄ cluster machine: input from the resource, events from its changes, status from snapshots.
import type { Resource } from '../../crds/definition.js';
import type { PostgresClusterSpec } from '../../crds/postgrescluster.js';
import type { ClusterMachine } from '../../machines/cluster/cluster.machine.js';
import type { ClusterEvent } from '../../machines/cluster/cluster.types.js';
import { selectStatus, type ClusterSnapshot } from '../../machines/cluster/cluster.selectors.js';
import type { ResourceKey } from '../../adapters/store/resource-store.js';
import { mergeConditions, type Condition } from '../../adapters/status/conditions.js';
import type { KindBinding } from '../resource-controller.js';

export interface ClusterBindingDeps {
  machine: ClusterMachine;
  /** Platform-specific status fields (local endpoints). */
  extraStatus?: (key: ResourceKey) => Promise<Record<string, unknown>>;
  onSnapshot?: (key: ResourceKey, snapshot: ClusterSnapshot) => void;
}

export function postgresClusterBinding(deps: ClusterBindingDeps): KindBinding<ClusterMachine> {
  return {
    kind: 'PostgresCluster',
    machineId: 'cluster',
    machine: deps.machine,
    input: (r: Resource) => ({
      namespace: r.metadata.namespace ?? 'default', name: r.metadata.name,
      spec: r.spec as PostgresClusterSpec, generation: r.metadata.generation ?? 1,
    }),
    eventsFor(r, snapshot) {
      const events: ClusterEvent[] = [];
      if (snapshot.status !== 'active') return events;
      if (r.metadata.deletionTimestamp) {
        if (!snapshot.matches('deleting') && !snapshot.matches('deleted')) events.push({ type: 'cluster.deleted' });
        return events;
      }
      const generation = r.metadata.generation ?? 1;
      if (generation !== snapshot.context.generation) events.push({ type: 'spec.changed', spec: r.spec as PostgresClusterSpec, generation });
      return events;
    },
    async status(snapshot, previous, key, now) {
      const s = selectStatus(snapshot);
      const conditions = mergeConditions(previous.conditions as Condition[] | undefined, s.conditions, now, s.observedGeneration);
      return { ...s, conditions, ...(deps.extraStatus ? await deps.extraStatus(key) : {}) };
    },
    onSnapshot: deps.onSnapshot,
    generationOf: (snapshot) => snapshot.context.generation,
  };
}
