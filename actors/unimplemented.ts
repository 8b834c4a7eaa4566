// Kinds that are served (the CRD exists, `apply` accepts them) but have no controller yet. Each object gets
// `Ready=False, reason=NotImplemented`, so nobody waits for a reconcile that will not come. The condition goes away
// kind by kind: once a binding is registered, its controller writes the status instead.
import type { Resource } from '../crds/definition.js';
import type { ResourceKey, ResourceStore } from './ports/resource-store.js';
import type { Condition } from './status/conditions.js';

export const NOT_IMPLEMENTED = 'NotImplemented';

export function notImplementedCondition(kind: string, generation: number, now: Date, previous?: Condition[]): Condition {
  const prev = previous?.find((c) => c.type === 'Ready' && c.reason === NOT_IMPLEMENTED);
  return {
    type: 'Ready', status: 'False', reason: NOT_IMPLEMENTED,
    message: `pgop has no controller for ${kind} yet: the object is stored but nothing acts on it`,
    lastTransitionTime: prev?.lastTransitionTime ?? now.toISOString(), observedGeneration: generation,
  };
}

/** Writes the condition unless it is already there for this generation (the status door skips equal writes). */
export async function markNotImplemented(store: ResourceStore, key: ResourceKey, resource: Resource, now: Date): Promise<void> {
  const generation = resource.metadata.generation ?? 1;
  await store.patchStatus(key, (s) => {
    const previous = (s.conditions as Condition[] | undefined) ?? [];
    const others = previous.filter((c) => c.type !== 'Ready');
    return { ...s, observedGeneration: generation, conditions: [...others, notImplementedCondition(key.kind, generation, now, previous)] };
  });
}
