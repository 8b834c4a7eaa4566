// Fills the cluster machine's effect slots, including its children (instances, failover and switchover plans).
import { fromPromise } from 'xstate';
import { WAKE_STALL_MS, type clusterMachine } from '../../machines/cluster/cluster.machine.js';
import { instanceMachine } from '../../machines/instance/instance.machine.js';
import { failoverMachine } from '../../machines/failover/failover.machine.js';
import { switchoverMachine } from '../../machines/switchover/switchover.machine.js';
import type { ClusterEffectInput, ShardsEffectInput } from '../../machines/cluster/cluster.types.js';
import { createInstanceImplementations, type InstanceDeps } from './instance.impl.js';
import { createFailoverImplementations } from './failover.impl.js';
import { createSwitchoverImplementations } from './switchover.impl.js';
import type { PlanDeps } from './plan.impl.js';
import { forgetFinishedSteps } from '../../actors/queues/forget-steps.js';
import { createShardImplementations, type ShardDeps } from './shards.impl.js';
import { createRolloutImplementations } from './rollout.impl.js';
import type { ChangeFeed } from '../../actors/binding.js';
import type { ResourceReader } from '../../actors/ports/resource-store.js';

/** `shards`: where a sharded cluster writes the objects it owns (absent: sharded clusters fail with a reason). */
export type ClusterDeps = InstanceDeps & PlanDeps & {
  shards?: ShardDeps; images?: { store: ResourceReader; changes?: ChangeFeed };
  /** How long waking waits for the primary before WakeStalled shows (default PGOP_WAKE_STALL_MS, else 5 minutes). */
  wakeStallMs?: number;
};

const wakeStallMs = (deps: ClusterDeps): number => {
  const fromEnv = Number(process.env.PGOP_WAKE_STALL_MS);
  return deps.wakeStallMs ?? (Number.isFinite(fromEnv) && fromEnv > 0 ? fromEnv : WAKE_STALL_MS);
};

const unsupported = fromPromise<void, ShardsEffectInput>(async () => { throw new Error('sharded clusters need the operator\'s resource writer, which this process was not given'); });

export function createClusterImplementations(deps: ClusterDeps) {
  return {
    actors: {
      instance: instanceMachine.provide(createInstanceImplementations(deps)),
      ...(deps.shards ? createShardImplementations(deps.shards) : { applyShards: unsupported, deleteShards: unsupported }),
      failover: failoverMachine.provide(createFailoverImplementations(deps)),
      switchover: switchoverMachine.provide(createSwitchoverImplementations(deps)),
      ...createRolloutImplementations({ platform: deps.platform, log: deps.log, ...deps.images }),
      provisionCluster: fromPromise<void, ClusterEffectInput>(({ input, signal }) => deps.platform.provisionCluster(input.cluster, input.spec, signal)),
      deprovisionCluster: fromPromise<void, ClusterEffectInput>(async ({ input, signal }) => {
        await deps.platform.deprovisionCluster(input.cluster, input.spec, signal);
        const { namespace, name } = input.cluster;
        await forgetFinishedSteps(deps.steps.queue, 'cloneInstance', (data) => {
          const c = (data as { cluster?: { namespace?: string; name?: string } } | null)?.cluster;
          return c?.namespace === namespace && c.name === name;
        });
      }),
    },
    delays: { wakeStallTimeout: wakeStallMs(deps) },
  } satisfies Parameters<typeof clusterMachine.provide>[0];
}
