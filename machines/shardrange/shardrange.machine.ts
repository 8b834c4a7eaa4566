// ShardRange: checks the ranges (pure) and that every shard's PostgresCluster exists (an effect), then publishes the
// routing with a version that bumps on every routing change. Invalid ranges wait for a new spec; missing shards
// are checked again until they appear. Nothing to clean up on deletion.
import { setup, assign } from 'xstate';
import { notProvided, notProvidedCallback } from '../shared/placeholder.js';
import type { ShardRangeContext, ShardRangeEvent, ShardRangeInput, CheckShardsInput, CheckShardsOutput } from './shardrange.types.js';
import { rangeProblems, routingOf } from './shardrange.logic.js';

export const shardRangeMachine = setup({
  types: { context: {} as ShardRangeContext, events: {} as ShardRangeEvent, input: {} as ShardRangeInput },
  actors: {
    checkShards: notProvided<CheckShardsOutput, CheckShardsInput>('checkShards'),
    waitToRecheck: notProvidedCallback<CheckShardsInput>('waitToRecheck'),
  },
  actions: {
    storeSpec: assign(({ event }) => (event.type === 'spec.changed' ? { spec: event.spec, generation: event.generation } : {})),
    storeInvalid: assign(({ context }) => ({ problem: { reason: 'InvalidRanges' as const, message: rangeProblems(context.spec).join('; ') } })),
    storeMissing: assign((_, params: { missing: string[]; cluster: string }) => ({
      problem: { reason: 'ShardsMissing' as const, message: `no PostgresCluster for shard${params.missing.length > 1 ? 's' : ''} ${params.missing.map((s) => `"${s}"`).join(', ')} of cluster ${params.cluster}` },
    })),
    storeCheckFailed: assign((_, params: { error: unknown }) => ({
      problem: { reason: 'CheckFailed' as const, message: `checking the shards failed: ${params.error instanceof Error ? params.error.message : String(params.error)}` },
    })),
    accept: assign(({ context }) => {
      const routing = routingOf(context.spec);
      return {
        problem: null, acceptedGeneration: context.generation, acceptedRouting: routing,
        version: routing === context.acceptedRouting ? context.version : context.version + 1,
      };
    }),
  },
  guards: {
    rangesValid: ({ context }) => rangeProblems(context.spec).length === 0,
    noneMissing: (_, params: { missing: string[] }) => params.missing.length === 0,
  },
}).createMachine({
  id: 'shardRange',
  context: ({ input }) => ({ ...input, version: 0, acceptedRouting: null, acceptedGeneration: null, problem: null }),
  initial: 'validating',
  on: {
    'spec.changed': { target: '.validating', actions: 'storeSpec' },
    'shardRange.deleted': { target: '.deleted' },
  },
  states: {
    validating: {
      always: [{ guard: 'rangesValid', target: 'checkingShards' }, { target: 'invalid', actions: 'storeInvalid' }],
    },
    checkingShards: {
      invoke: {
        id: 'checkShards', src: 'checkShards',
        input: ({ context }) => ({ namespace: context.namespace, cluster: context.spec.cluster.name, shards: context.spec.ranges.map((r) => r.shard) }),
        onDone: [
          { guard: { type: 'noneMissing', params: ({ event }) => ({ missing: event.output }) }, target: 'ready', actions: 'accept' },
          { target: 'waitingForShards', actions: { type: 'storeMissing', params: ({ event, context }) => ({ missing: event.output, cluster: context.spec.cluster.name }) } },
        ],
        onError: { target: 'waitingForShards', actions: { type: 'storeCheckFailed', params: ({ event }) => ({ error: event.error }) } },
      },
    },
    waitingForShards: {
      description: 'Some shard has no PostgresCluster (yet): checked again on a timer and whenever the resync asks.',
      invoke: {
        id: 'waitToRecheck', src: 'waitToRecheck',
        input: ({ context }) => ({ namespace: context.namespace, cluster: context.spec.cluster.name, shards: context.spec.ranges.map((r) => r.shard) }),
        onError: { target: 'checkingShards' },
      },
      on: { 'shardRange.sync': { target: 'checkingShards' } },
    },
    ready: {
      on: { 'shardRange.sync': { target: 'checkingShards' } },
    },
    invalid: {
      description: 'The ranges leave a gap, overlap or name a shard badly: only a new spec helps.',
    },
    deleted: { type: 'final' },
  },
});

export type ShardRangeMachine = typeof shardRangeMachine;
