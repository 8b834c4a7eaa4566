// The promotion plan after an unplanned primary loss, one persisted state per step:
// confirming → fencing → choosing → promoting → repointing → rerouting → rejoining → done.
// It only starts once the primary lease has expired, holds the lease itself (as the plan) while it decides, and
// never promotes a standby that might miss acknowledged commits under dataDurability: required.
import { setup, assign, sendParent, type DoneActorEvent } from 'xstate';
import { notProvided, notProvidedCallback } from '../shared/placeholder.js';
import { rankCandidates } from './failover.logic.js';
import type {
  Candidate, CollectInput, ConfirmInput, ConfirmOutput, FailoverContext, FenceInput, FailoverEvent, FailoverInput, InstanceInputOf, PlanEffectInput,
  PlanOutput, RejoinRequest, RepointInput, Stamped,
} from './failover.types.js';
import { planHolder } from './failover.types.js';

const holder = (ctx: FailoverContext) => planHolder('failover', ctx.cluster);
const plan = ({ context }: { context: FailoverContext }): PlanEffectInput => ({ cluster: context.cluster, holder: holder(context) });

const ranking = (ctx: FailoverContext) => rankCandidates(ctx.candidates, {
  synchronous: ctx.synchronous, total: ctx.replicas.length, maxLagBytes: ctx.maxLagBytes, lastPrimaryLsn: ctx.lastPrimaryLsn,
  // Fenced replicas are never promoted (ADR 0028), but stay in `replicas`: they get their slot and spec repointed.
  exclude: [...ctx.attempted, ...(ctx.fenced ?? [])],
});

export const failoverMachine = setup({
  types: {
    context: {} as FailoverContext,
    events: {} as FailoverEvent,
    input: {} as FailoverInput,
    output: {} as PlanOutput,
  },
  actors: {
    /** Lease still expired and the old primary not serving writes; takes the lease for the plan. */
    confirmPrimaryLost: notProvided<ConfirmOutput, ConfirmInput>('confirmPrimaryLost'),
    /** Out of routing first, then stopped by its agent if it answers at once, else by the platform; says how. */
    fenceInstance: notProvided<Stamped, FenceInput>('fenceInstance'),
    collectCandidates: notProvided<Stamped & { candidates: Candidate[]; alreadyPromoted?: string | null }, CollectInput>('collectCandidates'),
    /** Hands the lease to the candidate, which promotes itself. */
    promoteCandidate: notProvided<Stamped & { timeline: number }, InstanceInputOf>('promoteCandidate'),
    repointReplicas: notProvided<Stamped, RepointInput>('repointReplicas'),
    rerouteTraffic: notProvided<Stamped, InstanceInputOf>('rerouteTraffic'),
    requestRejoin: notProvided<Stamped, RejoinRequest>('requestRejoin'),
    /** While waiting: keeps the plan's lease and asks for a fresh look every few seconds. */
    holdPlanLease: notProvidedCallback<PlanEffectInput>('holdPlanLease'),
    restoreOldPrimary: notProvided<Stamped, InstanceInputOf>('restoreOldPrimary'),
  },
  actions: {
    recordStep: assign({
      steps: ({ context }, params: { step: string; at: string; detail?: string | undefined }) =>
        [...context.steps, { step: params.step, at: params.at, ...(params.detail ? { detail: params.detail } : {}) }],
    }),
    storeCandidates: assign((_, params: { candidates: Candidate[]; alreadyPromoted: string | null }) => ({ candidates: params.candidates, alreadyPromoted: params.alreadyPromoted })),
    choose: assign(({ context }) => ({ chosen: context.alreadyPromoted ?? ranking(context).ranked[0] ?? null, waitingReason: null })),
    storeFailure: assign({ lastError: (_, params: { error: unknown }) => (params.error instanceof Error ? params.error.message : String(params.error)) }),
    storeWaitingReason: assign(({ context }) => ({ waitingReason: ranking(context).reason })),
    markAttempted: assign(({ context }, params: { error: unknown }) => ({
      attempted: context.chosen ? [...context.attempted, context.chosen] : context.attempted,
      lastError: params.error instanceof Error ? params.error.message : String(params.error),
      chosen: null,
    })),
    forgetAttempts: assign({ attempted: [] }),
    notifyPromoted: sendParent(({ context }) => ({ type: 'failover.promoted', instance: context.chosen ?? '', timeline: context.timeline ?? 0 })),
  },
  guards: {
    confirmed: (_, params: { lost: boolean }) => params.lost,
    hasCandidate: ({ context }) => context.alreadyPromoted !== null || ranking(context).ranked.length > 0,
  },
}).createMachine({
  id: 'failover',
  context: ({ input }) => ({
    ...input, candidates: [], alreadyPromoted: null, attempted: [], chosen: null, timeline: null, steps: [], waitingReason: null, lastError: null, outcome: null,
  }),
  initial: 'confirming',
  states: {
    confirming: {
      description: 'Re-check with fresh eyes: the lease is still expired and the primary does not serve writes. Then the plan holds the lease.',
      invoke: {
        id: 'confirmPrimaryLost',
        src: 'confirmPrimaryLost',
        input: ({ context }) => ({ ...plan({ context }), oldPrimary: context.oldPrimary, replicas: context.replicas }),
        onDone: [
          {
            guard: { type: 'confirmed', params: ({ event }) => ({ lost: event.output.lost }) },
            target: 'fencing',
            actions: [
              assign({ oldPrimaryAnswered: ({ event }) => event.output.answered ?? true }),
              { type: 'recordStep', params: ({ event }) => ({ step: 'confirming', at: event.output.at, detail: event.output.detail }) },
            ],
          },
          { target: 'cancelled', actions: [assign({ lastError: ({ event }) => event.output.detail }), { type: 'recordStep', params: ({ event }) => ({ step: 'confirming', at: event.output.at }) }] },
        ],
        onError: { target: 'failed', actions: { type: 'storeFailure', params: ({ event }) => ({ error: event.error }) } },
      },
    },
    fencing: {
      description: 'Out of the read-write route first; then the old primary is stopped by its agent if it answers at once, else by the platform (processes killed, Pod deleted): never waiting on the fenced.',
      invoke: {
        id: 'fenceInstance',
        src: 'fenceInstance',
        input: ({ context }) => ({ ...plan({ context }), instance: context.oldPrimary, agentAnswered: context.oldPrimaryAnswered ?? true }),
        onDone: { target: 'choosing', actions: { type: 'recordStep', params: ({ event }) => ({ step: 'fencing', at: event.output.at, detail: event.output.detail }) } },
        onError: { target: 'failed', actions: { type: 'storeFailure', params: ({ event }) => ({ error: event.error }) } },
      },
    },
    choosing: {
      invoke: {
        id: 'collectCandidates',
        src: 'collectCandidates',
        input: ({ context }) => ({ ...plan({ context }), replicas: context.replicas }),
        onDone: {
          target: 'deciding',
          actions: [
            { type: 'storeCandidates', params: ({ event }) => ({ candidates: event.output.candidates, alreadyPromoted: event.output.alreadyPromoted ?? null }) },
            { type: 'recordStep', params: ({ event }) => ({ step: 'choosing', at: event.output.at }) },
          ],
        },
        onError: { target: 'failed', actions: { type: 'storeFailure', params: ({ event }) => ({ error: event.error }) } },
      },
    },
    deciding: {
      always: [
        { guard: 'hasCandidate', target: 'promoting', actions: 'choose' },
        { target: 'waitingForSafeCandidate', actions: 'storeWaitingReason' },
      ],
    },
    waitingForSafeCandidate: {
      description: 'No standby is known to be safe. Never a data-losing promotion: wait for one, or for the old primary to return.',
      invoke: {
        id: 'holdPlanLease', src: 'holdPlanLease', input: plan,
        // Without the plan's hold on the lease nothing stops another promotion: stop and say why.
        onError: { target: 'failed', actions: { type: 'storeFailure', params: ({ event }) => ({ error: event.error }) } },
      },
      on: {
        'candidates.recheck': { target: 'choosing', actions: 'forgetAttempts' },
        'primary.returned': 'restoringOldPrimary',
      },
    },
    restoringOldPrimary: {
      invoke: {
        id: 'restoreOldPrimary',
        src: 'restoreOldPrimary',
        input: ({ context }) => ({ ...plan({ context }), instance: context.oldPrimary }),
        onDone: { target: 'restored', actions: { type: 'recordStep', params: ({ event }) => ({ step: 'restoringOldPrimary', at: event.output.at }) } },
        onError: { target: 'failed', actions: { type: 'storeFailure', params: ({ event }) => ({ error: event.error }) } },
      },
    },
    promoting: {
      invoke: {
        id: 'promoteCandidate',
        src: 'promoteCandidate',
        input: ({ context }) => ({ ...plan({ context }), instance: context.chosen ?? '' }),
        onDone: {
          target: 'repointing',
          actions: [
            assign({ timeline: ({ event }) => event.output.timeline }),
            { type: 'recordStep', params: ({ event }) => ({ step: 'promoting', at: event.output.at }) },
            'notifyPromoted',
          ],
        },
        onError: {
          description: 'The candidate failed: the next one, if it is safe too.',
          target: 'choosing',
          actions: { type: 'markAttempted', params: ({ event }) => ({ error: event.error }) },
        },
      },
    },
    repointing: {
      invoke: {
        id: 'repointReplicas',
        src: 'repointReplicas',
        input: ({ context }) => ({
          ...plan({ context }), newPrimary: context.chosen ?? '',
          // The old primary too: it needs its slot on the new primary to stream once it has rejoined.
          others: [...context.replicas.filter((r) => r !== context.chosen), context.oldPrimary],
        }),
        onDone: { target: 'rerouting', actions: { type: 'recordStep', params: ({ event }) => ({ step: 'repointing', at: event.output.at }) } },
        onError: { target: 'failed', actions: { type: 'storeFailure', params: ({ event }) => ({ error: event.error }) } },
      },
    },
    rerouting: {
      invoke: {
        id: 'rerouteTraffic',
        src: 'rerouteTraffic',
        input: ({ context }) => ({ ...plan({ context }), instance: context.chosen ?? '' }),
        onDone: { target: 'rejoining', actions: { type: 'recordStep', params: ({ event }) => ({ step: 'rerouting', at: event.output.at }) } },
        onError: { target: 'failed', actions: { type: 'storeFailure', params: ({ event }) => ({ error: event.error }) } },
      },
    },
    rejoining: {
      description: 'The old primary is told whom to follow; it rewinds and rejoins whenever it comes back. A replica that took WAL past the fork from it (a thawed node) is sent to rewind too.',
      invoke: {
        id: 'requestRejoin',
        src: 'requestRejoin',
        input: ({ context }) => ({
          ...plan({ context }), oldPrimary: context.oldPrimary, newPrimary: context.chosen ?? '', replicas: context.replicas.filter((r) => r !== context.chosen),
        }),
        onDone: { target: 'done', actions: { type: 'recordStep', params: ({ event }) => ({ step: 'rejoining', at: event.output.at, detail: event.output.detail }) } },
        onError: { target: 'failed', actions: { type: 'storeFailure', params: ({ event }) => ({ error: event.error }) } },
      },
    },
    failed: {
      type: 'final',
      description: 'An effect failed for good (its transient errors are retried inside it): the plan stops and says why.',
      entry: assign({ outcome: 'failed' }),
    },
    done: { type: 'final', entry: assign({ outcome: 'promoted' }) },
    cancelled: { type: 'final', entry: assign({ outcome: 'cancelled' }) },
    restored: { type: 'final', entry: assign({ outcome: 'restored' }) },
  },
  output: ({ context }) => ({
    kind: 'failover',
    outcome: context.outcome ?? 'cancelled',
    from: context.oldPrimary,
    to: context.outcome === 'promoted' ? context.chosen : context.outcome === 'restored' ? context.oldPrimary : null,
    timeline: context.timeline,
    reason: context.lastError && context.outcome !== 'promoted' ? `${context.reason}; ${context.lastError}` : context.reason,
    startedAt: context.startedAt,
    steps: context.steps,
  }),
});

export type FailoverDone = DoneActorEvent<PlanOutput, 'failover'>;
