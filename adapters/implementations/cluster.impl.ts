// Fills the cluster machine's effect slots, including the instance child with its own implementations.
import { fromPromise } from 'xstate';
import type { clusterMachine } from '../../machines/cluster/cluster.machine.js';
import { instanceMachine } from '../../machines/instance/instance.machine.js';
import type { ClusterEffectInput } from '../../machines/cluster/cluster.types.js';
import { createInstanceImplementations, type InstanceDeps } from './instance.impl.js';

export function createClusterImplementations(deps: InstanceDeps) {
  return {
    actors: {
      instance: instanceMachine.provide(createInstanceImplementations(deps)),
      provisionCluster: fromPromise<void, ClusterEffectInput>(({ input, signal }) => deps.platform.provisionCluster(input.cluster, input.spec, signal)),
      deprovisionCluster: fromPromise<void, ClusterEffectInput>(({ input, signal }) => deps.platform.deprovisionCluster(input.cluster, input.spec, signal)),
    },
  } satisfies Parameters<typeof clusterMachine.provide>[0];
}
