// Fills the instance machine's effect slots: platform calls for the pod, SQL on the primary for its slot.
import { fromPromise } from 'xstate';
import type { instanceMachine } from '../../machines/instance/instance.machine.js';
import type { InstanceEffectInput, SlotEffectInput, ClusterRef } from '../../machines/instance/instance.types.js';
import type { PostgresClusterSpec } from '../../crds/postgrescluster.js';
import { slotNameFor } from '../instance/spec.js';
import type { PlanPlatform } from '../platform.js';
import { withClient } from '../sql/connect.js';
import { ensurePhysicalSlot, dropPhysicalSlot } from '../sql/replication.js';
import { retrying } from '../retry.js';
import type { Logger } from '../logging/logger.js';
import { fromQueuedStep, type QueuedStepDeps } from '../../actors/queues/from-queued-step.js';
import { stepJobId } from '../../actors/queues/queue-names.js';

export interface InstanceDeps {
  platform: PlanPlatform;
  /** The cluster's spec as stored now (the effect may run after a restart). */
  clusterSpec: (cluster: ClusterRef) => Promise<PostgresClusterSpec>;
  /** The primary as the cluster currently knows it; falls back to what the instance was created with. */
  currentPrimary: (cluster: ClusterRef) => Promise<string | null>;
  log: Logger;
  /** The steps queue: clones run as BullMQ jobs. */
  steps: QueuedStepDeps;
}

class SlotStillActive extends Error {}

export function createInstanceImplementations(deps: InstanceDeps) {
  const primaryOf = async (input: SlotEffectInput) => (await deps.currentPrimary(input.cluster)) ?? input.primary;
  const onRetry = (what: string, instance: string) => (e: unknown, attempt: number) =>
    deps.log.warn({ instance, attempt, err: (e as Error).message }, `${what}: retrying`);

  return {
    actors: {
      reserveReplicationSlot: fromPromise<void, SlotEffectInput>(async ({ input, signal }) => {
        await retrying(async () => {
          const primary = await primaryOf(input);
          if (!primary) throw new Error('no primary to reserve the slot on');
          await withClient(await deps.platform.superuserEndpoint(input.cluster, primary), (c) => ensurePhysicalSlot(c, slotNameFor(input.instance)));
        }, { signal, onRetry: onRetry('reserve slot', input.instance) });
      }),

      cloneInstance: fromQueuedStep<InstanceEffectInput>('cloneInstance', deps.steps,
        (i) => stepJobId({ kind: 'PostgresCluster', uid: i.owner.uid, generation: i.owner.generation }, 'cloneInstance', i.instance)),

      createInstance: fromPromise<void, InstanceEffectInput>(async ({ input, signal }) => {
        const spec = await deps.clusterSpec(input.cluster);
        const primary = input.bootstrap === 'clone' ? await primaryOf(input) : null;
        await deps.platform.createInstance({ ...input, primary }, spec, signal);
      }),

      removeInstance: fromPromise<void, InstanceEffectInput>(async ({ input, signal }) => {
        await deps.platform.removeInstance(input, await deps.clusterSpec(input.cluster).catch(() => ({ instances: 1, primaryUpdateStrategy: 'unsupervised' as const })), signal);
      }),

      releaseReplicationSlot: fromPromise<void, SlotEffectInput>(async ({ input, signal }) => {
        // The walsender of a stopped replica lingers for a moment, so "still active" is worth waiting for.
        await retrying(async () => {
          const primary = await primaryOf(input);
          if (!primary || primary === input.instance) return;
          const dropped = await withClient(await deps.platform.superuserEndpoint(input.cluster, primary), (c) => dropPhysicalSlot(c, slotNameFor(input.instance)));
          if (!dropped) throw new SlotStillActive(`slot ${slotNameFor(input.instance)} is still active`);
        }, { signal, maxMs: 300_000, isTransient: (e) => e instanceof SlotStillActive || (e instanceof Error && /ECONNREFUSED|timeout|starting up/i.test(e.message)), onRetry: onRetry('release slot', input.instance) });
      }),
    },
  } satisfies Parameters<typeof instanceMachine.provide>[0];
}
