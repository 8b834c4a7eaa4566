// Fills the pooler machine's effect slots. The route comes from the cluster's one routing decision
// (machines/cluster/routes.ts) on the cluster actor's current snapshot, so a failover or switchover reaches
// PgBouncer as soon as the cluster machine records the new primary.
import { fromPromise, fromCallback, type AnyEventObject } from 'xstate';
import type { poolerMachine } from '../../machines/pooler/pooler.machine.js';
import type { ApplyPoolerInput, PoolerApplied, PoolerRef, WatchPoolerInput } from '../../machines/pooler/pooler.types.js';
import type { ClusterSnapshot } from '../../machines/cluster/cluster.selectors.js';
import { selectRoutes } from '../../machines/cluster/routes.js';
import type { ClusterRef } from '../../machines/instance/instance.types.js';
import type { PoolerPlatform, PoolerRoute } from '../pooler/pooler-platform.js';
import { routeLabel } from '../pooler/pooler-platform.js';
import type { ClusterPlatform } from '../platform.js';
import { PermanentError } from '../platform.js';
import type { Logger } from '../logging/logger.js';

export interface PoolerDeps {
  /** Absent on a platform without pooler support yet: applies fail with a permanent, explained error. */
  poolers: PoolerPlatform | undefined;
  platform: Pick<ClusterPlatform, 'superuserEndpoint'>;
  /** The cluster actor's current snapshot (the runtime's view), undefined when the cluster is unknown. */
  clusterSnapshot(cluster: ClusterRef): ClusterSnapshot | undefined;
  log: Logger;
  watchEveryMs?: number;
}

export function poolerRoute(snapshot: ClusterSnapshot | undefined, type: 'rw' | 'ro'): PoolerRoute {
  if (!snapshot) return null;
  if (type === 'ro') return { kind: 'readOnly' };
  // Readiness of replicas does not matter for the read-write route; the cluster decides the primary.
  const rw = selectRoutes(snapshot, () => undefined).readWrite;
  return rw ? { kind: 'instance', instance: rw } : null;
}

export function createPoolerImplementations(deps: PoolerDeps) {
  const clusterOf = (i: ApplyPoolerInput): ClusterRef => ({ namespace: i.namespace, name: i.spec.cluster.name });
  const needPoolers = (): PoolerPlatform => {
    if (!deps.poolers) throw new PermanentError('Poolers are not supported on this platform yet');
    return deps.poolers;
  };
  return {
    actors: {
      applyPooler: fromPromise<PoolerApplied, ApplyPoolerInput>(async ({ input }) => {
        const poolers = needPoolers();
        const cluster = clusterOf(input);
        const snapshot = deps.clusterSnapshot(cluster);
        if (!snapshot) throw new Error(`PostgresCluster ${cluster.namespace}/${cluster.name} not found (spec.cluster.name)`);
        const route = poolerRoute(snapshot, input.spec.type);
        const primaryName = snapshot.context.currentPrimary;
        const primary = primaryName && route !== null ? await deps.platform.superuserEndpoint(cluster, primaryName).catch(() => null) : null;
        return poolers.apply(input, { route, primary });
      }),
      removePooler: fromPromise<void, PoolerRef>(async ({ input }) => { await deps.poolers?.remove(input); }),
      watchPooler: fromCallback<AnyEventObject, WatchPoolerInput>(({ input, sendBack }) => {
        let busy = false;
        const check = async () => {
          const route = poolerRoute(deps.clusterSnapshot(clusterOf(input)), input.spec.type);
          const moved = routeLabel(input.spec.cluster.name, route) !== (input.applied?.target ?? null);
          const down = !moved && deps.poolers ? !(await deps.poolers.running(input, input.spec.instances)) : false;
          if (moved || down) {
            deps.log.info({ pooler: `${input.namespace}/${input.name}`, moved, down }, moved ? 'cluster route changed; applying' : 'a pgbouncer process is gone; applying');
            sendBack({ type: 'pooler.sync' });
          }
        };
        const timer = setInterval(() => {
          if (busy) return;
          busy = true;
          check().catch((e: unknown) => deps.log.warn({ err: (e as Error).message }, 'pooler watch failed')).finally(() => { busy = false; });
        }, deps.watchEveryMs ?? 500);
        return () => clearInterval(timer);
      }),
    },
  } satisfies Parameters<typeof poolerMachine.provide>[0];
}
