// The operator's view of one PostgreSQL instance: from reserving its replication slot to streaming, losing it
// and getting it back, and removal. A child of the cluster machine; reports every phase change to its parent.
// Effects retry transient errors themselves (adapters) and reject only on permanent ones, so no durable timer
// lives here: a restored snapshot simply re-runs the in-flight effect.
import { setup, assign, sendParent } from 'xstate';
import { notProvided, notProvidedCallback } from '../shared/placeholder.js';
import { notReadyReason } from './not-ready-reason.js';
import type {
  InstanceContext, InstanceEvent, InstanceInput, InstancePhase, InstancePhaseChanged, SlotEffectInput, InstanceEffectInput,
} from './instance.types.js';

const effectInput = ({ context }: { context: InstanceContext }): InstanceEffectInput => ({
  cluster: context.cluster, owner: context.owner, instance: context.name, serial: context.serial, bootstrap: context.bootstrap, primary: context.primary,
});
const slotInput = ({ context }: { context: InstanceContext }): SlotEffectInput => ({
  cluster: context.cluster, instance: context.name, primary: context.primary,
});

const phaseChanged = (context: InstanceContext, phase: InstancePhase): InstancePhaseChanged => ({
  type: 'instance.phaseChanged', instance: context.name, phase,
  ...(context.lastError ? { reason: context.lastError } : {}),
  progress: context.progress,
});

export const instanceMachine = setup({
  types: {
    context: {} as InstanceContext,
    events: {} as InstanceEvent,
    input: {} as InstanceInput,
  },
  actors: {
    reserveReplicationSlot: notProvided<void, SlotEffectInput>('reserveReplicationSlot'),
    createInstance: notProvided<void, InstanceEffectInput>('createInstance'),
    /** A queued BullMQ step: the pod is created in clone mode and its pg_basebackup followed to the end. */
    cloneInstance: notProvidedCallback<InstanceEffectInput>('cloneInstance'),
    removeInstance: notProvided<void, InstanceEffectInput>('removeInstance'),
    releaseReplicationSlot: notProvided<void, SlotEffectInput>('releaseReplicationSlot'),
  },
  actions: {
    notifyPhase: sendParent(({ context }, params: { phase: InstancePhase }) => phaseChanged(context, params.phase)),
    // Restored from a snapshot saved between this machine's move and the parent's record of it, the parent may
    // hold a stale phase; every observation re-announces the current one (the parent ignores repeats).
    notifyCurrentPhase: sendParent(({ context, self }) => phaseChanged(context, String(self.getSnapshot().value) as InstancePhase)),
    storeProgress: assign({ progress: ({ event }) => (event.type === 'step.progress' ? event.progress : null) }),
    clearProgress: assign({ progress: null }),
    storeObservation: assign({
      observed: ({ event }) => (event.type === 'instance.reported' ? event.observation : null),
    }),
    storeError: assign({ lastError: (_, params: { error: unknown }) => describeError(params.error) }),
    storeLostReason: assign({ lastError: ({ event }) => (event.type === 'instance.lost' ? event.reason : null) }),
    // The parent re-announces the phase after every report (phase.sync), so the status follows this at once.
    storeNotReadyReason: assign({ lastError: ({ context, event }) => (event.type === 'instance.reported' ? notReadyReason(event.observation) : context.lastError) }),
    clearError: assign({ lastError: null }),
  },
  guards: {
    isClone: ({ context }) => context.bootstrap === 'clone',
    reportsReady: ({ event }) => event.type === 'instance.reported' && event.observation.ready,
    reportsNotReady: ({ event }) => event.type === 'instance.reported' && !event.observation.ready && !event.observation.bootstrapping,
    observedReady: ({ context }) => context.observed?.ready === true,
    observedFailure: ({ context }) => !!context.observed?.failed,
    reportsBootstrapping: ({ event }) => event.type === 'instance.reported' && event.observation.bootstrapping,
    reportsFailure: ({ event }) => event.type === 'instance.reported' && event.observation.failed !== null,
  },
}).createMachine({
  id: 'instance',
  context: ({ input }) => ({ ...input, observed: null, lastError: null, progress: null }),
  initial: 'starting',
  on: {
    'instance.remove': { target: '.removing' },
    'phase.sync': { actions: 'notifyCurrentPhase' },
  },
  states: {
    starting: {
      always: [{ guard: 'isClone', target: 'reservingSlot' }, { target: 'creating' }],
    },
    reservingSlot: {
      description: 'A replica gets its physical slot on the primary before it clones, so the primary keeps the WAL it needs.',
      entry: { type: 'notifyPhase', params: { phase: 'reservingSlot' } },
      invoke: {
        id: 'reserveReplicationSlot',
        src: 'reserveReplicationSlot',
        input: slotInput,
        onDone: { target: 'cloning', actions: 'clearError' },
        onError: { target: 'failed', actions: { type: 'storeError', params: ({ event }) => ({ error: event.error }) } },
      },
    },
    cloning: {
      description: 'Long-running, so a BullMQ job with a deterministic id: after an operator restart the machine re-attaches to it.',
      entry: { type: 'notifyPhase', params: { phase: 'cloning' } },
      invoke: {
        id: 'cloneInstance', src: 'cloneInstance', input: effectInput,
        // The queued-step actor itself failing (not the job: that is step.failed) ends the clone as well.
        onError: { target: 'failed', actions: [{ type: 'storeError', params: ({ event }) => ({ error: event.error }) }, 'clearProgress'] },
      },
      on: {
        'instance.reported': { actions: 'storeObservation' },
        'step.progress': { actions: ['storeProgress', { type: 'notifyPhase', params: { phase: 'cloning' } }] },
        'step.succeeded': { target: 'bootstrapping', actions: 'clearProgress' },
        'step.failed': { target: 'failed', actions: [assign({ lastError: ({ event }) => event.error }), 'clearProgress'] },
      },
    },
    creating: {
      entry: { type: 'notifyPhase', params: { phase: 'creating' } },
      on: { 'instance.reported': { actions: 'storeObservation' } },
      invoke: {
        id: 'createInstance',
        src: 'createInstance',
        input: effectInput,
        onDone: { target: 'bootstrapping', actions: 'clearError' },
        onError: { target: 'failed', actions: { type: 'storeError', params: ({ event }) => ({ error: event.error }) } },
      },
    },
    bootstrapping: {
      description: 'initdb (first primary) or pg_basebackup (replica) runs inside the instance agent.',
      entry: { type: 'notifyPhase', params: { phase: 'bootstrapping' } },
      // A report that arrived while the pod was still being created counts as soon as creation is done.
      always: [
        { guard: 'observedFailure', target: 'failed', actions: assign({ lastError: ({ context }) => context.observed?.failed ?? null }) },
        { guard: 'observedReady', target: 'running' },
      ],
      on: {
        'instance.reported': [
          { guard: 'reportsFailure', target: 'failed', actions: ['storeObservation', assign({ lastError: ({ event }) => event.observation.failed })] },
          { guard: 'reportsReady', target: 'running', actions: 'storeObservation' },
          { actions: 'storeObservation' },
        ],
      },
    },
    running: {
      entry: ['clearError', { type: 'notifyPhase', params: { phase: 'running' } }],
      on: {
        'instance.reported': [
          { guard: 'reportsNotReady', target: 'lost', actions: ['storeObservation', 'storeNotReadyReason'] },
          { actions: 'storeObservation' },
        ],
        'instance.lost': { target: 'lost', actions: 'storeLostReason' },
      },
    },
    lost: {
      description: 'The platform recreates a lost instance like a Pod; it comes back on the same volume.',
      entry: { type: 'notifyPhase', params: { phase: 'lost' } },
      on: {
        'instance.reported': [
          { guard: 'reportsReady', target: 'running', actions: 'storeObservation' },
          { guard: 'reportsBootstrapping', target: 'rejoining', actions: 'storeObservation' },
          { actions: ['storeObservation', 'storeNotReadyReason'] },
        ],
      },
    },
    rejoining: {
      description: 'Back, but catching up first: waiting for the lease, pg_rewind onto the new timeline, or a fresh clone.',
      entry: { type: 'notifyPhase', params: { phase: 'rejoining' } },
      on: {
        'instance.reported': [
          { guard: 'reportsReady', target: 'running', actions: 'storeObservation' },
          { guard: 'reportsFailure', target: 'failed', actions: ['storeObservation', assign({ lastError: ({ event }) => event.observation.failed })] },
          { actions: 'storeObservation' },
        ],
        'instance.lost': { target: 'lost', actions: 'storeLostReason' },
      },
    },
    failed: {
      entry: { type: 'notifyPhase', params: { phase: 'failed' } },
    },
    removing: {
      entry: { type: 'notifyPhase', params: { phase: 'removing' } },
      on: { 'instance.remove': {} },
      invoke: {
        id: 'removeInstance',
        src: 'removeInstance',
        input: effectInput,
        onDone: { target: 'releasingSlot' },
        onError: { target: 'failed', actions: { type: 'storeError', params: ({ event }) => ({ error: event.error }) } },
      },
    },
    releasingSlot: {
      on: { 'instance.remove': {} },
      invoke: {
        id: 'releaseReplicationSlot',
        src: 'releaseReplicationSlot',
        input: slotInput,
        onDone: { target: 'removed' },
        onError: { target: 'failed', actions: { type: 'storeError', params: ({ event }) => ({ error: event.error }) } },
      },
    },
    removed: {
      type: 'final',
      entry: { type: 'notifyPhase', params: { phase: 'removed' } },
    },
  },
});

function describeError(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
