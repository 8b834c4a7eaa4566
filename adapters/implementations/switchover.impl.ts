// Fills the switchover plan's effect slots.
import { fromPromise } from 'xstate';
import type { switchoverMachine } from '../../machines/switchover/switchover.machine.js';
import type { DemoteRequest, ReplayInput } from '../../machines/switchover/switchover.types.js';
import type { CollectInput, InstanceInputOf, RejoinRequest, RepointInput, Stamped, Candidate } from '../../machines/failover/failover.types.js';
import { compareLsn } from '../../machines/shared/lsn.js';
import { planEffects, type PlanDeps } from './plan.impl.js';

export function createSwitchoverImplementations(deps: PlanDeps) {
  const fx = planEffects(deps);
  const step = <T>(name: string, fn: () => Promise<T>) => async () => { const r = await fn(); deps.onStep?.('switchover', name); return r; };

  return {
    actors: {
      collectCandidates: fromPromise<Stamped & { candidates: Candidate[] }, CollectInput>(({ input }) => step('choosing', async () =>
        ({ ...fx.stamp(), candidates: await fx.collectCandidates(input.cluster, input.replicas) }))()),

      checkpointPrimary: fromPromise<Stamped, InstanceInputOf>(({ input }) => step('checkpointing', async () => {
        await (await fx.agentOf(input.cluster, input.instance)).post('checkpoint');
        return fx.stamp();
      })()),

      demotePrimary: fromPromise<Stamped & { checkpointLsn: string }, DemoteRequest>(({ input }) => step('demoting', async () => {
        const lease = deps.platform.lease(input.cluster);
        const agent = await fx.agentOf(input.cluster, input.instance);
        // Re-run after a restart: the primary may already be demoted and the lease with the plan.
        if ((await lease.read()).holder?.holder === input.holder) {
          const s = await agent.status();
          if (s.demotedAt) return { ...fx.stamp(), checkpointLsn: s.demotedAt };
        }
        const r = await agent.post<{ checkpointLsn: string }>('demote', { handoverTo: input.holder });
        return { ...fx.stamp(), checkpointLsn: r.checkpointLsn };
      })()),

      waitForReplay: fromPromise<Stamped, ReplayInput>(({ input, signal }) => step('waitingForReplay', async () => {
        await fx.until(input.cluster, input.instance, (s) => s.replayLsn !== null && compareLsn(s.replayLsn, input.lsn) > 0, 60_000, `replaying past ${input.lsn}`, signal);
        return fx.stamp();
      })()),

      promoteCandidate: fromPromise<Stamped & { timeline: number }, InstanceInputOf>(({ input }) => step('promoting', () => fx.promoteCandidate(input))()),
      repointReplicas: fromPromise<Stamped, RepointInput>(({ input }) => step('repointing', () => fx.repointReplicas(input))()),
      rerouteTraffic: fromPromise<Stamped, InstanceInputOf>(({ input }) => step('rerouting', async () => {
        await deps.platform.reroute(input.cluster, input.instance);
        return fx.stamp();
      })()),

      waitForRejoin: fromPromise<Stamped, RejoinRequest>(({ input, signal }) => step('rejoining', async () => {
        await fx.until(input.cluster, input.oldPrimary, (s) => s.role === 'replica' && s.streaming, 120_000, `rejoining ${input.newPrimary} as a streaming replica`, signal);
        return fx.stamp();
      })()),

      restoreOldPrimary: fromPromise<Stamped, InstanceInputOf>(({ input }) => step('rollingBack', () => fx.restoreOldPrimary(input))()),
    },
  } satisfies Parameters<typeof switchoverMachine.provide>[0];
}
