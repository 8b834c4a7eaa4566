// Planned switchover with zero data loss: checkpoint → clean demotion (the primary hands the lease to the plan)
// → the candidate replays the old primary's final checkpoint → promote → repoint → reroute → the old primary
// rejoins as a replica. A candidate that cannot finish sends the lease back and restores the old primary.
import { setup, assign, sendParent } from 'xstate';
import { notProvided } from '../shared/placeholder.js';
import { pickSwitchoverTarget } from './switchover.logic.js';
import type { SwitchoverContext, SwitchoverEvent, SwitchoverInput, ReplayInput, DemoteRequest } from './switchover.types.js';
import type {
  Candidate, CollectInput, InstanceInputOf, PlanEffectInput, PlanOutput, RejoinRequest, RepointInput, Stamped,
} from '../failover/failover.types.js';
import { planHolder } from '../failover/failover.types.js';

const plan = ({ context }: { context: SwitchoverContext }): PlanEffectInput => ({ cluster: context.cluster, holder: planHolder('switchover', context.cluster) });
const step = (name: string) => ({ type: 'recordStep' as const, params: ({ event }: { event: { output: Stamped } }) => ({ step: name, at: event.output.at }) });
const fail = { type: 'storeError' as const, params: ({ event }: { event: { error: unknown } }) => ({ error: event.error }) };

export const switchoverMachine = setup({
  types: {
    context: {} as SwitchoverContext,
    events: {} as SwitchoverEvent,
    input: {} as SwitchoverInput,
    output: {} as PlanOutput,
  },
  actors: {
    collectCandidates: notProvided<Stamped & { candidates: Candidate[] }, CollectInput>('collectCandidates'),
    checkpointPrimary: notProvided<Stamped, InstanceInputOf>('checkpointPrimary'),
    demotePrimary: notProvided<Stamped & { checkpointLsn: string }, DemoteRequest>('demotePrimary'),
    waitForReplay: notProvided<Stamped, ReplayInput>('waitForReplay'),
    promoteCandidate: notProvided<Stamped & { timeline: number }, InstanceInputOf>('promoteCandidate'),
    repointReplicas: notProvided<Stamped, RepointInput>('repointReplicas'),
    rerouteTraffic: notProvided<Stamped, InstanceInputOf>('rerouteTraffic'),
    waitForRejoin: notProvided<Stamped, RejoinRequest>('waitForRejoin'),
    restoreOldPrimary: notProvided<Stamped, InstanceInputOf>('restoreOldPrimary'),
  },
  actions: {
    recordStep: assign({ steps: ({ context }, params: { step: string; at: string }) => [...context.steps, params] }),
    storeError: assign({ lastError: (_, params: { error: unknown }) => (params.error instanceof Error ? params.error.message : String(params.error)) }),
    notifyPromoted: sendParent(({ context }) => ({ type: 'failover.promoted', instance: context.candidate ?? '', timeline: context.timeline ?? 0 })),
  },
}).createMachine({
  id: 'switchover',
  context: ({ input }) => ({ ...input, candidate: null, finalLsn: null, timeline: null, steps: [], lastError: null, outcome: null }),
  initial: 'choosing',
  states: {
    choosing: {
      invoke: {
        id: 'collectCandidates',
        src: 'collectCandidates',
        input: ({ context }) => ({ ...plan({ context }), replicas: context.replicas }),
        onDone: [
          {
            guard: ({ context, event }) => pickSwitchoverTarget(event.output.candidates, context.target).target !== null,
            target: 'checkpointing',
            actions: [assign({ candidate: ({ context, event }) => pickSwitchoverTarget(event.output.candidates, context.target).target }), step('choosing')],
          },
          { target: 'refused', actions: assign({ lastError: ({ context, event }) => pickSwitchoverTarget(event.output.candidates, context.target).reason }) },
        ],
        onError: { target: 'refused', actions: fail },
      },
    },
    checkpointing: {
      description: 'A checkpoint first keeps the demotion\'s shutdown checkpoint, and so the write pause, short.',
      invoke: {
        id: 'checkpointPrimary', src: 'checkpointPrimary',
        input: ({ context }) => ({ ...plan({ context }), instance: context.primary }),
        onDone: { target: 'demoting', actions: step('checkpointing') },
        onError: { target: 'refused', actions: fail },
      },
    },
    demoting: {
      invoke: {
        id: 'demotePrimary', src: 'demotePrimary',
        input: ({ context }) => ({ ...plan({ context }), instance: context.primary }),
        onDone: { target: 'waitingForReplay', actions: [assign({ finalLsn: ({ event }) => event.output.checkpointLsn }), step('demoting')] },
        onError: { target: 'rollingBack', actions: fail },
      },
    },
    waitingForReplay: {
      description: 'Zero loss: the candidate must have replayed the old primary\'s shutdown checkpoint before it is promoted.',
      invoke: {
        id: 'waitForReplay', src: 'waitForReplay',
        input: ({ context }) => ({ ...plan({ context }), instance: context.candidate ?? '', lsn: context.finalLsn ?? '0/0' }),
        onDone: { target: 'promoting', actions: step('waitingForReplay') },
        onError: { target: 'rollingBack', actions: fail },
      },
    },
    promoting: {
      invoke: {
        id: 'promoteCandidate', src: 'promoteCandidate',
        input: ({ context }) => ({ ...plan({ context }), instance: context.candidate ?? '' }),
        onDone: { target: 'repointing', actions: [assign({ timeline: ({ event }) => event.output.timeline }), step('promoting'), 'notifyPromoted'] },
        onError: { target: 'rollingBack', actions: fail },
      },
    },
    repointing: {
      invoke: {
        id: 'repointReplicas', src: 'repointReplicas',
        input: ({ context }) => ({ ...plan({ context }), newPrimary: context.candidate ?? '', others: [...context.replicas.filter((r) => r !== context.candidate), context.primary] }),
        onDone: { target: 'rerouting', actions: step('repointing') },
        onError: { target: 'failed', actions: fail },
      },
    },
    rerouting: {
      invoke: {
        id: 'rerouteTraffic', src: 'rerouteTraffic',
        input: ({ context }) => ({ ...plan({ context }), instance: context.candidate ?? '' }),
        onDone: { target: 'rejoining', actions: step('rerouting') },
        onError: { target: 'failed', actions: fail },
      },
    },
    rejoining: {
      invoke: {
        id: 'waitForRejoin', src: 'waitForRejoin',
        input: ({ context }) => ({ ...plan({ context }), oldPrimary: context.primary, newPrimary: context.candidate ?? '' }),
        onDone: { target: 'done', actions: step('rejoining') },
        onError: { target: 'done', actions: fail },
      },
    },
    rollingBack: {
      description: 'The old primary shut down cleanly, so it can lead again without loss.',
      invoke: {
        id: 'restoreOldPrimary', src: 'restoreOldPrimary',
        input: ({ context }) => ({ ...plan({ context }), instance: context.primary }),
        onDone: { target: 'rolledBack', actions: step('rollingBack') },
        onError: { target: 'failed', actions: fail },
      },
    },
    done: { type: 'final', entry: assign({ outcome: 'promoted' }) },
    rolledBack: { type: 'final', entry: assign({ outcome: 'rolledBack' }) },
    refused: { type: 'final', entry: assign({ outcome: 'cancelled' }) },
    failed: {
      type: 'final',
      description: 'An effect failed for good after the demotion (repointing, rerouting or restoring the old primary): the plan stops and says why; the cluster observes and recovers from there.',
      entry: assign({ outcome: 'failed' }),
    },
  },
  output: ({ context }) => ({
    kind: 'switchover',
    outcome: context.outcome ?? 'cancelled',
    from: context.primary,
    // Once promoted (a timeline), the candidate leads even if a later step failed.
    to: context.outcome === 'promoted' || (context.outcome === 'failed' && context.timeline !== null) ? context.candidate : context.primary,
    timeline: context.timeline,
    reason: context.lastError ? `switchover ${context.requestId}: ${context.lastError}` : `switchover ${context.requestId}`,
    startedAt: context.startedAt,
    steps: context.steps,
  }),
});
