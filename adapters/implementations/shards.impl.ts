// A sharded PostgresCluster's effects: create or update the shard clusters and ShardRanges it owns (admitted like a
// manifest, so a bad spec never reaches the store), watch the shards' status, and delete them with the owner.
import { fromPromise, fromCallback, type AnyEventObject } from 'xstate';
import type { ShardsEffectInput, ShardObservation } from '../../machines/cluster/cluster.types.js';
import { desiredShardObjects } from '../../machines/cluster/shards.logic.js';
import { shardsOf, shardingProblems } from '../../crds/sharding.js';
import { admit } from '../../crds/admission.js';
import { API_VERSION } from '../../crds/definition.js';
import type { PostgresClusterStatus } from '../../crds/postgrescluster.js';
import type { OwnedResourceWriter, ResourceReader, ResourceKey } from '../../actors/ports/resource-store.js';
import { PermanentError } from '../../actors/ports/errors.js';
import { abortableSleep } from '../retry.js';
import type { Logger } from '../logging/logger.js';

export interface ShardDeps {
  store: ResourceReader;
  writer: OwnedResourceWriter;
  log: Logger;
  watchEveryMs?: number;
  retryAfterMs?: number;
}

const keyOf = (r: { kind: string; metadata: { name: string; namespace?: string } }): ResourceKey => ({ kind: r.kind, namespace: r.metadata.namespace ?? '', name: r.metadata.name });

export async function observeShards(store: ResourceReader, input: ShardsEffectInput): Promise<ShardObservation[]> {
  if (!input.spec.sharding) return [];
  return Promise.all(shardsOf(input.cluster.name, input.spec.sharding).map(async (s) => {
    const r = await store.get({ kind: 'PostgresCluster', namespace: input.cluster.namespace, name: s.cluster });
    const status = (r?.status ?? {}) as PostgresClusterStatus;
    return { shard: s.shard, cluster: s.cluster, phase: r ? status.phase ?? 'Pending' : 'Missing', readyInstances: status.readyInstances ?? 0 };
  }));
}

export function createShardImplementations(deps: ShardDeps) {
  return {
    applyShards: fromPromise<void, ShardsEffectInput>(async ({ input }) => {
      // Checked again where it is used: the spec reached the store through admission, but this writes objects.
      const problems = shardingProblems(input.spec.sharding);
      if (problems.length) throw new PermanentError(problems.map((p) => `${p.field}: ${p.message}`).join('; '));
      const owner = { apiVersion: API_VERSION, kind: 'PostgresCluster', name: input.cluster.name, uid: input.uid };
      for (const desired of desiredShardObjects(input.cluster, input.spec)) {
        const admitted = admit(desired);
        const action = await deps.writer.applyOwned({ ...admitted, metadata: { ...admitted.metadata, namespace: input.cluster.namespace } }, owner);
        if (action !== 'unchanged') deps.log.info({ cluster: `${input.cluster.namespace}/${input.cluster.name}`, object: `${desired.kind}/${desired.metadata.name}`, action }, `shard object ${action}`);
      }
    }),
    watchShards: fromCallback<AnyEventObject, ShardsEffectInput>(({ input, sendBack }) => {
      let last = '';
      let busy = false;
      const tick = () => {
        if (busy) return;
        busy = true;
        observeShards(deps.store, input).then((shards) => {
          const now = JSON.stringify(shards);
          if (now !== last) { last = now; sendBack({ type: 'shards.observed', shards }); }
        }).catch((e: unknown) => deps.log.warn({ err: (e as Error).message }, 'watching shards failed')).finally(() => { busy = false; });
      };
      tick();
      const timer = setInterval(tick, deps.watchEveryMs ?? 1000);
      return () => clearInterval(timer);
    }),
    deleteShards: fromPromise<void, ShardsEffectInput>(async ({ input, signal }) => {
      const objects = desiredShardObjects(input.cluster, input.spec);
      // ShardRanges first: no router should route to a shard that is going away.
      for (const o of [...objects].reverse()) await deps.writer.deleteOwned(keyOf(o));
      while ((await Promise.all(objects.map((o) => deps.store.get(keyOf(o))))).some((r) => r !== undefined)) {
        await abortableSleep(deps.watchEveryMs ?? 1000, signal);
      }
    }),
    waitToRetry: fromCallback<AnyEventObject, ShardsEffectInput>(({ sendBack }) => {
      const timer = setTimeout(() => sendBack({ type: 'shards.retry' }), deps.retryAfterMs ?? 5000);
      return () => clearTimeout(timer);
    }),
  };
}
