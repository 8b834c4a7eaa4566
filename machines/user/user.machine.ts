// One PostgreSQL role, declaratively, on the cluster's current primary:
// pending (find the primary) → observing → planning → applying → applied ⇄ drifted, waiting while the cluster is
// not Ready or failing over, retrying with backoff after errors, and on deletion dropping the role when the
// reclaim policy says so. The password never enters the context: effects read it and say only whether it matches.
import { setup, assign } from 'xstate';
import { notProvided, notProvidedCallback } from '../shared/placeholder.js';
import { planRole } from './user.logic.js';
import type { ExecuteInput, ExecuteOutput, Observation, Target, TargetInput, UserContext, UserEffectInput, UserEvent, UserInput, WatchInput } from './user.types.js';

const errorText = (e: unknown) => (e instanceof Error ? e.message : String(e));
const isPermanent = (e: unknown) => e instanceof Error && e.name === 'PermanentError';
const effectInput = ({ context }: { context: UserContext }): UserEffectInput => ({
  resource: { namespace: context.namespace, name: context.name },
  cluster: { namespace: context.namespace, name: context.spec.cluster.name },
  primary: context.primary ?? '',
  spec: context.spec,
  lastRotation: context.password?.rotatedAt ?? null,
});

/** Retry backoff: 1 s doubling to 30 s. */
export const retryDelayMs = (attempts: number) => Math.min(30_000, 1000 * 2 ** Math.min(Math.max(attempts - 1, 0), 5));
const watchNothing = (context: UserContext) => ({
  resource: { namespace: context.namespace, name: context.name }, cluster: { namespace: context.namespace, name: context.spec.cluster.name },
  appliedOn: null, secretName: null, secretVersion: null, lastCheckedAt: null,
});

export const userMachine = setup({
  types: {
    context: {} as UserContext,
    events: {} as UserEvent,
    input: {} as UserInput,
  },
  actors: {
    resolveTarget: notProvided<Target, TargetInput>('resolveTarget'),
    observeRole: notProvided<Observation, UserEffectInput>('observeRole'),
    executeRoleActions: notProvided<ExecuteOutput, ExecuteInput>('executeRoleActions'),
    watchForChanges: notProvidedCallback<WatchInput>('watchForChanges'),
  },
  guards: {
    isTargetReady: (_, params: { target: Target }) => params.target.ready,
    isClusterGone: (_, params: { target: Target }) => !params.target.ready && params.target.reason.startsWith('cluster not found'),
    hasNoActions: ({ context }) => context.actions.length === 0,
    hasMissingRoles: ({ context }) => (context.observed?.missingRoles.length ?? 0) > 0,
    wasApplied: ({ context }) => context.appliedGeneration === context.generation,
    isStale: ({ context }) => context.appliedGeneration !== context.generation,
    isPermanentError: (_, params: { error: unknown }) => isPermanent(params.error),
    dropsOnDelete: ({ context }) => context.spec.reclaimPolicy === 'delete' && context.spec.ensure !== 'absent',
  },
  actions: {
    storeSpec: assign((_, params: { spec: UserContext['spec']; generation: number }) => ({ spec: params.spec, generation: params.generation, attempts: 0 })),
    storePrimary: assign((_, params: { target: Target }) => ({ primary: params.target.ready ? params.target.primary : null, waitingReason: null })),
    storeWaitingReason: assign((_, params: { target: Target }) => ({ waitingReason: params.target.ready ? null : params.target.reason })),
    storeObservation: assign((_, params: { observation: Observation }) => ({ observed: params.observation, password: params.observation.password })),
    plan: assign(({ context }) => ({ plannedGeneration: context.generation, actions: planRole(context.spec, context.observed?.role ?? null, context.observed?.missingRoles ?? []) })),
    markApplied: assign(({ context }, params: { at: string }) => ({
      appliedGeneration: context.plannedGeneration, appliedOn: context.primary, lastAppliedAt: params.at, lastCheckedAt: params.at,
      lastError: null, attempts: 0, actions: [],
    })),
    markChecked: assign(({ context }) => ({ lastCheckedAt: context.observed?.at ?? context.lastCheckedAt, appliedOn: context.primary, lastError: null, attempts: 0 })),
    storeMissingRoles: assign(({ context }) => ({
      lastError: `waiting for role(s) to exist: ${context.observed?.missingRoles.join(', ') ?? ''}`, attempts: context.attempts + 1,
    })),
    storeError: assign(({ context }, params: { error: unknown }) => ({ lastError: errorText(params.error), attempts: context.attempts + 1 })),
    markDeleting: assign({ deleting: true, attempts: 0 }),
  },
}).createMachine({
  id: 'user',
  context: ({ input }) => ({
    ...input, primary: null, observed: null, actions: [], appliedGeneration: null, plannedGeneration: null, appliedOn: null, password: null,
    lastAppliedAt: null, lastCheckedAt: null, waitingReason: null, lastError: null, attempts: 0, deleting: false,
  }),
  initial: 'pending',
  on: {
    // Busy states finish with what they started; `applied` then sees the new generation and goes again.
    'spec.changed': { actions: { type: 'storeSpec', params: ({ event }) => ({ spec: event.spec, generation: event.generation }) } },
    'resource.deleted': { target: '.deleting', actions: 'markDeleting' },
  },
  states: {
    pending: {
      description: 'Finds the cluster\'s current primary; waits while the cluster is not Ready or failing over.',
      invoke: {
        id: 'resolveTarget',
        src: 'resolveTarget',
        input: ({ context }) => ({ cluster: { namespace: context.namespace, name: context.spec.cluster.name } }),
        onDone: [
          { guard: { type: 'isTargetReady', params: ({ event }) => ({ target: event.output }) }, target: 'observing', actions: { type: 'storePrimary', params: ({ event }) => ({ target: event.output }) } },
          { target: 'waitingForCluster', actions: { type: 'storeWaitingReason', params: ({ event }) => ({ target: event.output }) } },
        ],
        onError: { target: 'retrying', actions: { type: 'storeError', params: ({ event }) => ({ error: event.error }) } },
      },
    },
    waitingForCluster: {
      on: {
        'cluster.changed': 'pending', 'resync.due': 'pending', 'secret.changed': 'pending',
        'spec.changed': { target: 'pending', actions: { type: 'storeSpec', params: ({ event }) => ({ spec: event.spec, generation: event.generation }) } },
      },
    },
    observing: {
      invoke: {
        id: 'observeRole',
        src: 'observeRole',
        input: effectInput,
        onDone: { target: 'planning', actions: { type: 'storeObservation', params: ({ event }) => ({ observation: event.output }) } },
        onError: [
          { guard: { type: 'isPermanentError', params: ({ event }) => ({ error: event.error }) }, target: 'failed', actions: { type: 'storeError', params: ({ event }) => ({ error: event.error }) } },
          { target: 'retrying', actions: { type: 'storeError', params: ({ event }) => ({ error: event.error }) } },
        ],
      },
    },
    planning: {
      entry: 'plan',
      always: [
        { guard: 'hasMissingRoles', target: 'retrying', actions: 'storeMissingRoles', description: 'inRoles names a role that does not exist yet (another PostgresUser may create it).' },
        { guard: 'hasNoActions', target: 'applied', actions: ['markChecked', assign(({ context }) => ({ appliedGeneration: context.generation, lastAppliedAt: context.lastAppliedAt ?? context.observed?.at ?? null }))] },
        { guard: 'wasApplied', target: 'drifted', description: 'The role was as declared and is not any more: someone changed it by hand.' },
        { target: 'applying' },
      ],
    },
    applying: {
      invoke: {
        id: 'executeRoleActions',
        src: 'executeRoleActions',
        input: ({ context }) => ({ ...effectInput({ context }), actions: context.actions }),
        onDone: { target: 'applied', actions: { type: 'markApplied', params: ({ event }) => ({ at: event.output.at }) } },
        onError: [
          { guard: { type: 'isPermanentError', params: ({ event }) => ({ error: event.error }) }, target: 'failed', actions: { type: 'storeError', params: ({ event }) => ({ error: event.error }) } },
          { target: 'retrying', actions: { type: 'storeError', params: ({ event }) => ({ error: event.error }) } },
        ],
      },
    },
    drifted: {
      invoke: {
        id: 'correctDrift',
        src: 'executeRoleActions',
        input: ({ context }) => ({ ...effectInput({ context }), actions: context.actions }),
        onDone: { target: 'applied', actions: { type: 'markApplied', params: ({ event }) => ({ at: event.output.at }) } },
        onError: { target: 'retrying', actions: { type: 'storeError', params: ({ event }) => ({ error: event.error }) } },
      },
    },
    applied: {
      always: { guard: 'isStale', target: 'pending' },
      invoke: {
        id: 'watchForChanges',
        src: 'watchForChanges',
        description: 'Re-armed on restore (callback actors restart): sends secret.changed when the password Secret changes, resync.due when the drift check is due and cluster.changed when the cluster\'s primary is no longer the one it was applied on.',
        input: ({ context }) => ({
          resource: { namespace: context.namespace, name: context.name },
          cluster: { namespace: context.namespace, name: context.spec.cluster.name }, appliedOn: context.appliedOn,
          secretName: context.password?.secretName ?? null, secretVersion: context.password?.secretVersion ?? null,
          lastCheckedAt: context.lastCheckedAt, wakeAfterMs: null,
        }),
        onError: { target: 'retrying', actions: { type: 'storeError', params: ({ event }) => ({ error: event.error }) } },
      },
      on: {
        'resync.due': { target: 'pending', description: 'Drift check: the runtime sends it when the check interval has passed.' },
        'secret.changed': 'pending',
        'cluster.changed': { target: 'pending', description: 'A new primary: re-check there (an asynchronous replica may have missed the last change).' },
        'spec.changed': { target: 'pending', actions: { type: 'storeSpec', params: ({ event }) => ({ spec: event.spec, generation: event.generation }) } },
      },
    },
    retrying: {
      invoke: {
        id: 'retryTimer',
        src: 'watchForChanges',
        description: 'Backoff as a callback actor, not `after`: it restarts with a restored actor, so a retry is never lost.',
        input: ({ context }) => ({ ...watchNothing(context), wakeAfterMs: retryDelayMs(context.attempts) }),
        onError: 'pending',
      },
      on: {
        'resync.due': 'pending', 'secret.changed': 'pending', 'cluster.changed': 'pending',
        'spec.changed': { target: 'pending', actions: { type: 'storeSpec', params: ({ event }) => ({ spec: event.spec, generation: event.generation }) } },
      },
    },
    failed: {
      description: 'A permanent error (e.g. a reserved role name): nothing changes until the spec or the Secret does.',
      on: {
        'secret.changed': 'pending',
        'spec.changed': { target: 'pending', actions: { type: 'storeSpec', params: ({ event }) => ({ spec: event.spec, generation: event.generation }) } },
      },
    },
    deleting: {
      initial: 'deciding',
      on: { 'resource.deleted': {}, 'spec.changed': {} },
      states: {
        deciding: {
          always: [
            { guard: 'dropsOnDelete', target: 'resolving' },
            { target: '#user.deleted', description: 'reclaimPolicy retain (or ensure absent, already dropped): the role stays as it is.' },
          ],
        },
        resolving: {
          invoke: {
            id: 'resolveTargetForDelete',
            src: 'resolveTarget',
            input: ({ context }) => ({ cluster: { namespace: context.namespace, name: context.spec.cluster.name } }),
            onDone: [
              { guard: { type: 'isTargetReady', params: ({ event }) => ({ target: event.output }) }, target: 'dropping', actions: { type: 'storePrimary', params: ({ event }) => ({ target: event.output }) } },
              { guard: { type: 'isClusterGone', params: ({ event }) => ({ target: event.output }) }, target: '#user.deleted', description: 'No cluster, no role to drop.' },
              { target: 'waiting', actions: { type: 'storeWaitingReason', params: ({ event }) => ({ target: event.output }) } },
            ],
            onError: { target: 'retrying', actions: { type: 'storeError', params: ({ event }) => ({ error: event.error }) } },
          },
        },
        waiting: { on: { 'cluster.changed': 'resolving', 'resync.due': 'resolving' } },
        dropping: {
          invoke: {
            id: 'dropRole',
            src: 'executeRoleActions',
            input: ({ context }) => ({ ...effectInput({ context }), actions: [{ kind: 'dropRole' }] }),
            onDone: '#user.deleted',
            onError: { target: 'retrying', actions: { type: 'storeError', params: ({ event }) => ({ error: event.error }) } },
          },
        },
        retrying: {
          invoke: { id: 'deleteRetryTimer', src: 'watchForChanges', input: ({ context }) => ({ ...watchNothing(context), wakeAfterMs: retryDelayMs(context.attempts) }), onError: 'resolving' },
          on: { 'resync.due': 'resolving', 'cluster.changed': 'resolving' },
        },
      },
    },
    deleted: { type: 'final' },
  },
});

export type UserMachine = typeof userMachine;
