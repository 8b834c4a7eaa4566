// Fills the failover plan's effect slots.
import { fromPromise, fromCallback, type AnyEventObject } from 'xstate';
import type { failoverMachine } from '../../machines/failover/failover.machine.js';
import type { CollectInput, ConfirmInput, ConfirmOutput, FenceInput, InstanceInputOf, PlanEffectInput, RejoinRequest, RepointInput, Stamped, Candidate } from '../../machines/failover/failover.types.js';
import { planEffects, leaseTtl, type PlanDeps } from './plan.impl.js';
import { retrying } from '../retry.js';
import { settleReplicas } from './diverged-replicas.js';
import { PermanentError } from '../platform.js';

/** How long confirmation looks at the old primary's agent once its lease is gone: a fraction of a second. */
const CONFIRM_STATUS_MS = 300;
/** How long an agent that answered confirmation gets to fence itself before the platform does it. */
const FENCE_ASK_MS = 1000;

export function createFailoverImplementations(deps: PlanDeps) {
  const fx = planEffects(deps);
  // Transient failures (an agent restarting, Redis blinking) are retried here; only permanent ones reach the
  // machine, which then stops the plan in `failed` with the reason.
  const step = <T>(name: string, fn: () => Promise<T>, signal?: AbortSignal) => async () => {
    const r = await retrying(fn, {
      ...(signal ? { signal } : {}), maxMs: 600_000, isTransient: (e) => !(e instanceof PermanentError),
      onRetry: (e, attempt) => deps.log.warn({ step: name, attempt, err: (e as Error).message }, 'failover step retrying'),
    });
    deps.onStep?.('failover', name);
    return r;
  };
  // A candidate that refuses is not retried here: the machine moves on to the next safe candidate.
  const once = <T>(name: string, fn: () => Promise<T>) => async () => { const r = await fn(); deps.onStep?.('failover', name); return r; };

  return {
    actors: {
      confirmPrimaryLost: fromPromise<ConfirmOutput, ConfirmInput>(({ input }) => step('confirming', async () => {
        const lease = deps.platform.lease(input.cluster);
        const spec = await deps.clusterSpec(input.cluster);
        const [state, gone] = await Promise.all([lease.read(), deps.platform.instanceGone(input.cluster, input.oldPrimary)]);
        const holder = state.holder?.holder ?? null;
        const no = (detail: string) => ({ ...fx.stamp(), lost: false, detail, answered: true });
        if (holder === input.oldPrimary && !gone) return no(`${input.oldPrimary} still holds a live lease`);
        if (holder !== null && holder !== input.oldPrimary && holder !== input.holder) {
          // Restored from a snapshot saved before the handover while the promotion went through: one of this
          // plan's replicas already leads, so the plan carries on to adopt it (choosing finds it) instead of
          // leaving the cluster believing in the old primary.
          if (input.replicas.includes(holder)) return { ...fx.stamp(), lost: true, detail: `${holder} was already promoted`, answered: true };
          return no(`${holder} holds the lease`);
        }
        // The lease is gone (or its holder's processes are): a healthy agent has fenced itself already, so a short
        // look is enough; a frozen or partitioned one does not get to hold the plan up.
        const s = gone ? null : await (await deps.platform.agent(input.cluster, input.oldPrimary))?.status(CONFIRM_STATUS_MS).catch(() => null);
        if (s?.role === 'primary' && s.ready) return no(`${input.oldPrimary} is serving writes again`);
        const taken = holder === input.oldPrimary
          ? await lease.handover(input.oldPrimary, { holder: input.holder, host: '', port: 0 }, leaseTtl(spec))
          : (await lease.acquire({ holder: input.holder, host: '', port: 0 }, leaseTtl(spec))).acquired;
        if (!taken) return no('the lease was taken meanwhile');
        deps.log.warn({ oldPrimary: input.oldPrimary, gone, leaseHolder: holder, answered: !!s }, 'primary loss confirmed; the failover plan holds the lease');
        const why = gone ? 'processes gone' : holder === input.oldPrimary ? 'lease taken over' : 'lease expired';
        return { ...fx.stamp(), lost: true, detail: `${why}; agent ${s ? `answered (${s.state})` : 'did not answer'}`, answered: !!s };
      })()),

      fenceInstance: fromPromise<Stamped, FenceInput>(({ input }) => step('fencing', async () => {
        // Out of the read-write route first, whatever happens next.
        const routed = await deps.platform.unroute(input.cluster, input.instance).catch((e: unknown) => `unroute failed: ${(e as Error).message}`);
        if (await deps.platform.instanceGone(input.cluster, input.instance)) return { ...fx.stamp(), detail: `${routed}; processes already gone` };
        // An agent that answered a moment ago gets a short chance to stop its own postgres; one that did not (frozen,
        // stalled, cut off) is fenced by the platform at once, never waited on.
        if (input.agentAnswered) {
          const agent = await deps.platform.agent(input.cluster, input.instance);
          const ok = await agent?.post('fence', { reason: 'failover in progress' }, FENCE_ASK_MS).then(() => true, () => false);
          if (ok) return { ...fx.stamp(), detail: `${routed}; postgres stopped by its agent` };
        }
        const done = await deps.platform.fenceUnresponsive(input.cluster, input.instance);
        deps.log.warn({ instance: input.instance, done }, 'old primary fenced by the platform');
        return { ...fx.stamp(), detail: `${routed}; platform fencing: ${done}` };
      })()),

      collectCandidates: fromPromise<Stamped & { candidates: Candidate[]; alreadyPromoted?: string | null }, CollectInput>(({ input, signal }) => step('choosing', async () => {
        const holder = (await deps.platform.lease(input.cluster).read()).holder?.holder ?? null;
        const candidates = await fx.collectCandidates(input.cluster, input.replicas);
        // Restored after a restart that came right after the handover: finish promoting that one, never a second.
        if (holder && input.replicas.includes(holder)) return { ...fx.stamp(), candidates, alreadyPromoted: holder };
        await fx.holdPlanLease(input);
        return { ...fx.stamp(), candidates, alreadyPromoted: null };
      }, signal)()),

      promoteCandidate: fromPromise<Stamped & { timeline: number }, InstanceInputOf>(({ input }) => once('promoting', () => fx.promoteCandidate(input))()),
      repointReplicas: fromPromise<Stamped, RepointInput>(({ input }) => step('repointing', () => fx.repointReplicas(input))()),
      rerouteTraffic: fromPromise<Stamped, InstanceInputOf>(({ input }) => step('rerouting', async () => {
        await deps.platform.reroute(input.cluster, input.instance);
        return fx.stamp();
      })()),
      // After rerouting, so writes do not wait on it: a replica that took WAL from the old primary after the fork (its
      // node came back before the replica was repointed) is sent to rewind.
      requestRejoin: fromPromise<Stamped, RejoinRequest>(({ input, signal }) => step('rejoining', async () => {
        const r = await settleReplicas(deps, input.cluster, input.newPrimary, input.replicas ?? [], signal);
        const detail = [r.following.length ? `on the new timeline: ${r.following.join(', ')}` : '',
          r.rewinding.length ? `diverged, rejoining by pg_rewind: ${r.rewinding.join(', ')}` : '',
          r.unknown.length ? `not confirmed: ${r.unknown.join(', ')}` : '', r.note ?? ''].filter(Boolean).join('; ');
        return detail ? { ...fx.stamp(), detail } : fx.stamp();
      }, signal)()),

      holdPlanLease: fromCallback<AnyEventObject, PlanEffectInput>(({ input, sendBack }) => {
        let n = 0;
        const timer = setInterval(() => {
          void fx.holdPlanLease(input).catch((e: unknown) => deps.log.warn({ err: (e as Error).message }, 'plan lease not held'));
          if (++n % 2 === 0) sendBack({ type: 'candidates.recheck' });
        }, 1000);
        return () => clearInterval(timer);
      }),

      restoreOldPrimary: fromPromise<Stamped, InstanceInputOf>(({ input }) => step('restoringOldPrimary', () => fx.restoreOldPrimary(input))()),
    },
  } satisfies Parameters<typeof failoverMachine.provide>[0];
}
