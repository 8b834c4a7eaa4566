// The role label of every instance Pod, decided from the cluster's primary record alone. The operator is the only
// writer: agents cannot label Pods, so an instance that believes it leads (or lies about it) never moves the -rw
// Service; only the cluster machine's `currentPrimary` does.
export type RoleLabel = 'primary' | 'replica';

export interface RoleInputs {
  /** The instance Pods that exist now. */
  pods: string[];
  /** The cluster's primary record (`status.currentPrimary`); null before the first primary runs. */
  primary: string | null;
  /**
   * The primary a running failover started from, while it is still the record: fenced at the Kubernetes level first,
   * it is neither primary (no writes routed to it) nor replica (it is not following anyone until it rejoins).
   */
  fenced: string | null;
}

/** Pod name → label value; null removes the label. Empty before there is a primary: nothing to route yet. */
export function desiredRoleLabels(i: RoleInputs): Record<string, RoleLabel | null> {
  if (!i.primary) return {};
  return Object.fromEntries(i.pods.map((pod) => [pod, pod === i.fenced ? null : pod === i.primary ? 'primary' : 'replica']));
}
