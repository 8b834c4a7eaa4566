// Rolling updates (ADR 0026): the cluster machine's effect slots for configuration, restarts and the image watch.
import { fromPromise, fromCallback, type AnyEventObject } from 'xstate';
import type { ConfigurationInput, ImageWatchInput, RestartInput, RolloutEvent } from '../../machines/cluster/rollout.types.js';
import type { PlanPlatform } from '../platform.js';
import { PermanentError } from '../platform.js';
import type { ResourceReader } from '../../actors/ports/resource-store.js';
import type { PostgresClusterSpec } from '../../crds/postgrescluster.js';
import type { Logger } from '../logging/logger.js';
import { resolveClusterImage, ImageNotFound } from '../images/resolve-image.js';

export interface RolloutDeps {
  platform: PlanPlatform;
  log: Logger;
  /** Where the cluster and its image catalogs are read; absent: clusters resolve no image and never roll. */
  store?: ResourceReader;
  /** How often the image watch re-reads the cluster and its catalog (default 1 s; PGOP_IMAGE_WATCH_MS). */
  imageWatchMs?: number;
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
      let running = false;
      const loop = () => {
        if (running) return;
        running = true;
        tick().catch((e: unknown) => log.warn({ cluster: input.cluster.name, err: (e as Error).message }, 'image watch: cannot read the cluster or its catalog'))
          .finally(() => { running = false; });
      };
      loop();
      const timer = setInterval(loop, deps.imageWatchMs ?? Number(process.env.PGOP_IMAGE_WATCH_MS ?? 1000));
      return () => { stopped = true; clearInterval(timer); };
    }),
  };
}
