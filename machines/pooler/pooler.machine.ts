// Pooler: PgBouncer in front of a cluster. Level-triggered: every apply renders the whole configuration from the
// spec and the cluster's current routes, starts what is missing, reloads what changed and sets PAUSE/RESUME, so
// a route change after a failover is just another apply. The effects live in adapters/implementations/pooler.impl.ts.
import { assign, setup } from 'xstate';
import { notProvided, notProvidedCallback } from '../shared/placeholder.js';
import type { ApplyPoolerInput, PoolerApplied, PoolerContext, PoolerEvent, PoolerInput, PoolerRef, WatchPoolerInput } from './pooler.types.js';

export const RETRY_MS = 2000;

export const poolerMachine = setup({
  types: {} as { context: PoolerContext; events: PoolerEvent; input: PoolerInput },
  actors: {
    applyPooler: notProvided<PoolerApplied, ApplyPoolerInput>('applyPooler'),
    removePooler: notProvided<void, PoolerRef>('removePooler'),
    /** Sends `pooler.sync` when what was applied no longer holds (the cluster's routes moved, a process died). */
    watchPooler: notProvidedCallback<WatchPoolerInput>('watchPooler'),
  },
  actions: {
    storeSpec: assign(({ event }) => (event.type === 'spec.changed' ? { spec: event.spec, generation: event.generation } : {})),
    markAgain: assign({ again: true }),
  },
  guards: {
    changedMeanwhile: ({ context }) => context.again,
  },
}).createMachine({
  id: 'pooler',
  context: ({ input }) => ({ ...input, applied: null, appliedGeneration: null, error: null, again: false }),
  initial: 'applying',
  on: {
    'pooler.deleted': { target: '.deleting' },
  },
  states: {
    applying: {
      entry: assign({ again: false }),
      invoke: {
        id: 'applyPooler',
        src: 'applyPooler',
        input: ({ context }) => ({ namespace: context.namespace, name: context.name, spec: context.spec, generation: context.generation }),
        onDone: [
          {
            guard: 'changedMeanwhile', target: 'applying', reenter: true,
            actions: assign(({ context, event }) => ({ applied: event.output, appliedGeneration: context.generation, error: null })),
            description: 'the spec or the routes changed while applying: apply the newer state before settling',
          },
          { target: 'ready', actions: assign(({ context, event }) => ({ applied: event.output, appliedGeneration: context.generation, error: null })) },
        ],
        onError: { target: 'retrying', actions: assign(({ event }) => ({ error: (event.error as Error | undefined)?.message ?? String(event.error) })) },
      },
      on: {
        'spec.changed': { actions: ['storeSpec', 'markAgain'] },
        'pooler.sync': { actions: 'markAgain' },
      },
    },
    ready: {
      invoke: {
        id: 'watchPooler',
        src: 'watchPooler',
        input: ({ context }) => ({ namespace: context.namespace, name: context.name, spec: context.spec, generation: context.generation, applied: context.applied }),
        onError: { target: 'applying' },
      },
      on: {
        'spec.changed': { target: 'applying', actions: 'storeSpec' },
        'pooler.sync': { target: 'applying' },
      },
    },
    retrying: {
      description: 'a short in-process wait; a restored actor (timers are lost) is moved on by the next resync instead',
      after: { [RETRY_MS]: { target: 'applying' } },
      on: {
        'spec.changed': { target: 'applying', actions: 'storeSpec' },
        'pooler.sync': { target: 'applying' },
      },
    },
    deleting: {
      invoke: {
        id: 'removePooler',
        src: 'removePooler',
        input: ({ context }) => ({ namespace: context.namespace, name: context.name }),
        onDone: { target: 'deleted' },
        onError: { target: 'deleteFailed', actions: assign(({ event }) => ({ error: (event.error as Error | undefined)?.message ?? String(event.error) })) },
      },
    },
    deleteFailed: {
      after: { [RETRY_MS]: { target: 'deleting' } },
      on: { 'pooler.sync': { target: 'deleting' } },
    },
    deleted: { type: 'final' },
  },
});

export type PoolerMachine = typeof poolerMachine;
