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

/**
 * Conditions owned by another writer (an attached machine), merged into the stored list: those `types` are
 * replaced by `intents` (keeping lastTransitionTime when unchanged); every other condition stays as stored.
 */
export function upsertConditions(stored: Condition[] | undefined, types: readonly string[], intents: ConditionIntent[], now: Date, generation: number): Condition[] {
  const mine = mergeConditions(stored, intents, now, generation);
  return [...(stored ?? []).filter((c) => !types.includes(c.type)), ...mine];
}

/** The stored conditions of the given types, to carry over a write that does not own them. */
export const conditionsOfTypes = (stored: unknown, types: readonly string[]): Condition[] =>
  (Array.isArray(stored) ? stored as Condition[] : []).filter((c) => types.includes(c.type));
