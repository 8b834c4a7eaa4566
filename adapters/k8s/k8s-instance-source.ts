// What the status loop observes on Kubernetes: each cluster's instances as their PVCs record them, and the
// StatefulSet-like duty of bringing back a Pod that was lost while its PVC stays.
import type { ClusterSnapshot } from '../../machines/cluster/cluster.selectors.js';
import type { ClusterRef } from '../../machines/instance/instance.types.js';
import type { InstanceSource } from '../instance-observer.js';
import type { K8sPlatform } from './k8s-platform.js';
import type { Logger } from '../logging/logger.js';

/**
 * The members whose lost Pods may be recreated now. A lost primary comes back once the failover replaced it, when
 * nothing can replace it (no running replica, or the plan waits for a safe candidate: its return is then the way
 * out), or after a grace period. Back at once, it would simply lead again: a deleted primary Pod would never fail over.
 */
export function recreatable(snap: ClusterSnapshot, primaryMissingForMs: number, graceMs: number): string[] {
  const ctx = snap.context;
  const plan = (snap.children as Record<string, { getSnapshot(): { value: unknown } } | undefined>).failover;
  const waitingForCandidate = plan?.getSnapshot().value === 'waitingForSafeCandidate';
  const replaceable = ctx.members.some((m) => m.name !== ctx.currentPrimary && m.phase === 'running');
  const holdPrimary = (snap.matches('failingOver') && !waitingForCandidate) || (replaceable && primaryMissingForMs < graceMs);
  return ctx.members.filter((m) => m.phase !== 'removing' && m.phase !== 'removed')
    .filter((m) => m.name !== ctx.currentPrimary || !holdPrimary)
    .map((m) => m.name);
}

/** The clusters the operator holds actors for, with their current snapshots. */
export type ClusterSnapshots = () => { ref: ClusterRef; snap: ClusterSnapshot }[];

export function k8sInstanceSource(held: ClusterSnapshots, platform: K8sPlatform, log: Logger, graceMs: number): InstanceSource {
  const primaryMissingSince = new Map<string, number>();
  const clusters = () => held().filter(({ snap }) => !snap.matches('deleting') && !snap.matches('deleted'));
  return {
    reviveLost: async () => {
      for (const { ref, snap } of clusters()) {
        const primary = snap.context.currentPrimary ?? '';
        const key = `${ref.namespace}/${ref.name}/${primary}`;
        if (await platform.podExists(ref, primary)) primaryMissingSince.delete(key);
        else if (!primaryMissingSince.has(key)) primaryMissingSince.set(key, Date.now());
        const missingFor = Date.now() - (primaryMissingSince.get(key) ?? Date.now());
        const recreated = await platform.recreateMissingPods(ref, snap.context.spec, recreatable(snap, missingFor, graceMs));
        if (recreated.length) log.warn({ cluster: `${ref.namespace}/${ref.name}`, recreated }, 'recreated lost instance pods from their volumes');
      }
    },
    list: async () => (await Promise.all(clusters().map(({ ref }) => platform.instances(ref)))).flat(),
  };
}
