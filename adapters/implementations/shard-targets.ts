// PostgresUser and PostgresDatabase on a sharded cluster act on every shard's primary. The machines keep one
// `primary` string: for a sharded cluster it lists `<shard cluster>/<instance>` per shard ("shop-min-80/shop-min-80-1,
// shop-80-max/shop-80-max-2"), which these helpers resolve and split; an unsharded cluster's is the instance name.
import type { PostgresCluster } from '../../crds/postgrescluster.js';
import { shardsOf } from '../../crds/sharding.js';
import type { ResourceReader } from '../../actors/ports/resource-store.js';
import type { ResourceRef, Target } from '../../machines/user/user.types.js';
import { targetOf } from './cluster-target.js';

export interface PrimaryTarget { cluster: ResourceRef; instance: string }

/** Every shard must take changes; otherwise wait, naming the shard. */
export async function resolveTargets(store: ResourceReader, ref: ResourceRef): Promise<Target> {
  const c = await store.get({ kind: 'PostgresCluster', namespace: ref.namespace, name: ref.name }) as PostgresCluster | undefined;
  const sharding = c?.spec.sharding;
  if (!c || !sharding) return targetOf(c, ref);
  if (c.metadata.deletionTimestamp) return { ready: false, reason: `cluster ${ref.name} is being deleted` };
  const parts: string[] = [];
  for (const s of shardsOf(ref.name, sharding)) {
    const child = { namespace: ref.namespace, name: s.cluster };
    const t = targetOf(await store.get({ kind: 'PostgresCluster', ...child }) as PostgresCluster | undefined, child);
    if (!t.ready) return { ready: false, reason: `shard ${s.shard} of ${ref.name}: ${t.reason}` };
    parts.push(`${s.cluster}/${t.primary}`);
  }
  return { ready: true, primary: parts.join(',') };
}

export function targetsOf(cluster: ResourceRef, primary: string): PrimaryTarget[] {
  if (!primary.includes('/')) return [{ cluster, instance: primary }];
  return primary.split(',').map((p) => {
    const [name, instance] = p.split('/');
    if (!name || !instance) throw new Error(`malformed shard target "${p}"`);
    return { cluster: { namespace: cluster.namespace, name }, instance };
  });
}

/** The observation to plan from: the shard that needs the most work (a shard missing the object wins). */
export function mostBehind<O>(observations: O[], work: (o: O) => number): O {
  let best = observations[0] as O;
  for (const o of observations.slice(1)) if (work(o) > work(best)) best = o;
  return best;
}
