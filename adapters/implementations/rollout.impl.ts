// Rolling updates (ADR 0026): the cluster machine's effect slots for configuration, restarts and the image watch.
import { fromPromise, fromCallback, type AnyEventObject } from 'xstate';
import type { ConfigurationInput, ImageWatchInput, RestartInput, RolloutEvent } from '../../machines/cluster/rollout.types.js';
import type { PlanPlatform } from '../platform.js';
import { PermanentError } from '../platform.js';
import type { ResourceKey, ResourceReader } from '../../actors/ports/resource-store.js';
import type { ChangeFeed } from '../../actors/binding.js';
import type { PostgresClusterSpec } from '../../crds/postgrescluster.js';
import type { Logger } from '../logging/logger.js';
import { resolveClusterImage, ImageNotFound } from '../images/resolve-image.js';

export interface RolloutDeps {
  platform: PlanPlatform;
  log: Logger;
  /** Where the cluster and its image catalogs are read; absent: clusters resolve no image and never roll. */
  store?: ResourceReader;
  /** The runtime's change feed: the image watch re-reads on a change of the cluster or of an image catalog. */
  changes?: ChangeFeed;
  /**
   * How often the image watch re-reads anyway (PGOP_IMAGE_WATCH_MS): 1 s without a change feed; with one, 30 s,
   * a safety net for a missed watch event.
   */
  imageWatchMs?: number;
}

/** The changes that can move a cluster's image: its own spec, or any catalog it may name (namespaced or cluster-wide). */
export function concernsImage(key: ResourceKey, cluster: { namespace: string; name: string }): boolean {
  if (key.kind === 'PostgresCluster') return key.namespace === cluster.namespace && key.name === cluster.name;
  if (key.kind === 'ImageCatalog') return key.namespace === cluster.namespace;
  return key.kind === 'ClusterImageCatalog';
}

export function createRolloutImplementations(deps: RolloutDeps) {
  const { platform, log } = deps;
  return {
    applyConfiguration: fromPromise<void, ConfigurationInput>(async ({ input }) => {
      if (!platform.applyConfiguration) return;
      await platform.applyConfiguration(input.cluster, input.spec, input.primary, input.generation);
    }),

    restartInstance: fromPromise<void, RestartInput>(async ({ input, signal }) => {
      if (!platform.restartInstance) throw new PermanentError('this platform cannot restart instances for a rolling update');
      // Idempotent: a restored machine re-runs this; an instance already serving on the image with nothing pending
      // is not restarted twice.
      const agent = await platform.agent(input.cluster, input.instance);
      const s = await agent?.status().catch(() => null);
      if (s && s.ready && s.image === input.image && s.pendingRestart === false) {
        log.info({ cluster: input.cluster.name, instance: input.instance }, 'rolling update: instance already updated');
        return;
      }
      // The machine left `restarting` meanwhile (a spec change): it decides again from the instances' reports, so a
      // restart it no longer wants must not start now (on Kubernetes it deletes a Pod).
      if (signal.aborted) return;
      log.info({ cluster: input.cluster.name, instance: input.instance, image: input.image }, 'rolling update: restarting instance');
      await platform.restartInstance(input.cluster, input.spec, input.instance, input.image, input.primary);
    }),

    watchImage: fromCallback<AnyEventObject, ImageWatchInput>(({ input, sendBack }) => {
      const store = deps.store;
      if (input.sharded || !store || !platform.imageLocation) return () => undefined;
      const locate = platform.imageLocation.bind(platform);
      let last = '';
      let stopped = false;
      const send = (e: RolloutEvent) => {
        const text = JSON.stringify(e);
        if (text === last || stopped) return;
        last = text;
        sendBack(e);
      };
      const tick = async () => {
        const r = await store.get({ kind: 'PostgresCluster', namespace: input.cluster.namespace, name: input.cluster.name });
        if (!r || stopped) return;
        const spec = r.spec as PostgresClusterSpec;
        try {
          const choice = await resolveClusterImage(spec, input.cluster.namespace, store);
          send({ type: 'image.resolved', image: locate(choice.image, spec), source: choice.source });
        } catch (e) {
          if (!(e instanceof ImageNotFound) && !(e instanceof PermanentError)) throw e;
          send({ type: 'image.unresolved', reason: e.message });
        }
      };
      // One read at a time; a change arriving during a read is read again after it, never dropped.
      let running = false;
      let again = false;
      const loop = () => {
        if (running) { again = true; return; }
        running = true;
        again = false;
        tick().catch((e: unknown) => log.warn({ cluster: input.cluster.name, err: (e as Error).message }, 'image watch: cannot read the cluster or its catalog'))
          .finally(() => { running = false; if (again && !stopped) loop(); });
      };
      loop();
      const unsubscribe = deps.changes?.((key) => { if (concernsImage(key, input.cluster)) loop(); });
      const everyMs = deps.imageWatchMs ?? Number(process.env.PGOP_IMAGE_WATCH_MS ?? (unsubscribe ? 30_000 : 1000));
      const timer = setInterval(loop, everyMs);
      return () => { stopped = true; clearInterval(timer); unsubscribe?.(); };
    }),
  };
}
