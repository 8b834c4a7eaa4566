// What the status loop observes on Kubernetes: each cluster's instances as their PVCs record them, and the
// StatefulSet-like duty of bringing back a Pod that was lost while its PVC stays, and the role labels the Services
// select by, written from the cluster's primary record (the operator is their only writer).
import type { ClusterSnapshot } from '../../machines/cluster/cluster.selectors.js';
import type { ClusterRef } from '../../machines/instance/instance.types.js';
import type { InstanceSource } from '../instance-observer.js';
import type { K8sPlatform } from './k8s-platform.js';
import type { Logger } from '../logging/logger.js';
import { desiredRoleLabels, type RoleLabel } from './specs/role-labels.js';
import { powerStage, selectStoppedInstances } from '../../machines/cluster/power.selectors.js';
import { hasFailoverCandidate } from '../../machines/cluster/cluster.logic.js';

/**
 * The members whose lost Pods may be recreated now. A lost primary comes back once the failover replaced it, when
 * nothing can replace it (no failover candidate, or the plan waits for a safe candidate: its return is then the way
 * out), or after a grace period. Back at once, it would simply lead again: a deleted primary Pod would never fail over.
 */
export function recreatable(snap: ClusterSnapshot, primaryMissingForMs: number, graceMs: number): string[] {
  const ctx = snap.context;
  const plan = (snap.children as Record<string, { getSnapshot(): { value: unknown } } | undefined>).failover;
  const waitingForCandidate = plan?.getSnapshot().value === 'waitingForSafeCandidate';
  // The failover's own rule: a replica that stopped streaming because its primary went is still a candidate.
  const replaceable = hasFailoverCandidate(ctx);
  const holdPrimary = (snap.matches('failingOver') && !waitingForCandidate) || (replaceable && primaryMissingForMs < graceMs);
  // A fenced or hibernating instance's lost Pod stays away until it is released (ADR 0028, 0037).
  const stopped = selectStoppedInstances(snap);
  return ctx.members.filter((m) => m.phase !== 'removing' && m.phase !== 'removed' && !stopped.includes(m.name))
    .filter((m) => m.name !== ctx.currentPrimary || !holdPrimary)
    .map((m) => m.name);
}

/** The clusters the operator holds actors for, with their current snapshots. */
export type ClusterSnapshots = () => { ref: ClusterRef; snap: ClusterSnapshot }[];

/** Role labels from the cluster's primary record; a primary being failed over from is fenced (no label). */
export function roleLabelsFor(snap: ClusterSnapshot, pods: string[]): Record<string, RoleLabel | null> {
  const { currentPrimary, planFrom } = snap.context;
  const fenced = snap.matches('failingOver') && planFrom === currentPrimary ? currentPrimary : null;
  const labels = desiredRoleLabels({ pods, primary: currentPrimary, fenced });
  // A Pod being stopped for fencing or hibernation leaves the Services at once.
  for (const name of selectStoppedInstances(snap)) if (name in labels) labels[name] = null;
  return labels;
}

export function k8sInstanceSource(held: ClusterSnapshots, platform: K8sPlatform, log: Logger, graceMs: number): InstanceSource {
  const primaryMissingSince = new Map<string, number>();
  const clusters = () => held().filter(({ snap }) => !snap.matches('deleting') && !snap.matches('deleted'));
  // One stopping pass per cluster at a time, off the status beat (a clean stop takes seconds per instance).
  const stopping = new Map<string, Promise<void>>();
  const enforce = (ref: ClusterRef, snap: ClusterSnapshot) => {
    const key = `${ref.namespace}/${ref.name}`;
    if (stopping.has(key)) return;
    const names = selectStoppedInstances(snap);
    // Hibernating deletes the Pods (PVCs stay); fencing a running cluster keeps the Pod and holds its agent (ADR 0037).
    const inPlace = powerStage(snap) === 'running';
    stopping.set(key, (async () => {
      for (const n of names) {
        if (inPlace ? await platform.holdInPlace(ref, n) : await platform.holdStopped(ref, n)) log.info({ cluster: key, instance: n, pod: inPlace ? 'kept' : 'deleted' }, inPlace ? 'instance fenced: postgres stopped' : 'instance pod stopped (hibernating)');
      }
      const released = await platform.releaseHeld(ref, names);
      if (released.length) log.info({ cluster: key, released }, 'fencing lifted: postgres starting again');
    })()
      .catch((e: unknown) => log.error({ cluster: key, err: (e as Error).message }, 'stopping or releasing instances failed; retrying next round'))
      .finally(() => stopping.delete(key)));
  };
  return {
    reviveLost: async () => {
      for (const { ref, snap } of clusters()) {
        enforce(ref, snap);
        const primary = snap.context.currentPrimary ?? '';
        const key = `${ref.namespace}/${ref.name}/${primary}`;
        if (await platform.podExists(ref, primary)) primaryMissingSince.delete(key);
        else if (!primaryMissingSince.has(key)) primaryMissingSince.set(key, Date.now());
        const missingFor = Date.now() - (primaryMissingSince.get(key) ?? Date.now());
        const recreated = await platform.recreateMissingPods(ref, snap.context.spec, recreatable(snap, missingFor, graceMs));
        if (recreated.length) log.warn({ cluster: `${ref.namespace}/${ref.name}`, recreated }, 'recreated lost instance pods from their volumes');
        // The snapshot is read again once the Pods are listed: a promotion meanwhile must not be undone.
        await platform.labelRoles(ref, (pods) => roleLabelsFor(held().find((c) => c.ref.namespace === ref.namespace && c.ref.name === ref.name)?.snap ?? snap, pods));
      }
    },
    list: async () => (await Promise.all(clusters().map(({ ref }) => platform.instances(ref)))).flat(),
  };
}
