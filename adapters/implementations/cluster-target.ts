// Where the SQL controllers act: the cluster's current primary as its status publishes it, and only while the
// cluster can take changes. Failing over, switching over, provisioning, deleting: wait, naming the reason.
import type { PostgresCluster } from '../../crds/postgrescluster.js';
import type { ResourceReader } from '../../actors/ports/resource-store.js';
import type { ResourceRef, Target } from '../../machines/user/user.types.js';

/** Phases in which the primary takes writes; Degraded/Scaling only while the primary itself is reported ready. */
const ACTIVE = new Set(['Ready', 'Degraded', 'Scaling']);

export function targetOf(c: PostgresCluster | undefined, ref: ResourceRef): Target {
  if (!c) return { ready: false, reason: `cluster not found: PostgresCluster ${ref.namespace}/${ref.name} does not exist` };
  if (c.metadata.deletionTimestamp) return { ready: false, reason: `cluster ${ref.name} is being deleted` };
  const s = c.status;
  const phase = typeof s?.phase === 'string' ? s.phase : 'Unknown';
  const primary = s?.currentPrimary;
  if (!ACTIVE.has(phase)) return { ready: false, reason: `cluster ${ref.name} is ${phase}${s?.phaseReason ? ` (${s.phaseReason})` : ''}` };
  if (!primary) return { ready: false, reason: `cluster ${ref.name} has no primary yet` };
  const me = s?.instances?.find((i) => i.name === primary);
  if (phase !== 'Ready' && !(me?.ready && me.role === 'primary')) return { ready: false, reason: `cluster ${ref.name} is ${phase} and its primary ${primary} is not ready` };
  return { ready: true, primary };
}

export async function resolveClusterTarget(store: ResourceReader, ref: ResourceRef): Promise<Target> {
  const c = await store.get({ kind: 'PostgresCluster', namespace: ref.namespace, name: ref.name }) as PostgresCluster | undefined;
  return targetOf(c, ref);
}
