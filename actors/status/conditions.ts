// Turns the machines' condition intents into metav1.Conditions: lastTransitionTime changes only when the
// status of a condition changes, as Kubernetes tooling expects.
import type { ConditionIntent } from '../../machines/shared/conditions.js';

export interface Condition extends ConditionIntent { lastTransitionTime: string; observedGeneration?: number }

export function mergeConditions(previous: Condition[] | undefined, intents: ConditionIntent[], now: Date, generation: number): Condition[] {
  return intents.map((c) => {
    const prev = previous?.find((p) => p.type === c.type);
    const since = prev && prev.status === c.status ? prev.lastTransitionTime : now.toISOString();
    return { ...c, lastTransitionTime: since, observedGeneration: generation };
  });
}
