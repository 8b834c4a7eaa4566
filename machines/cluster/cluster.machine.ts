// PostgresCluster lifecycle: provision shared resources, bootstrap the first primary, clone replicas one at a
// time, then hold Ready ⇄ Degraded while following spec changes (scale up and down) until deletion.
// One `instance` child per member owns that instance's lifecycle and reports its phase back here.
import { setup, assign, sendTo, stopChild, enqueueActions } from 'xstate';
import { notProvided, notProvidedCallback } from '../shared/placeholder.js';
import { instanceMachine } from '../instance/instance.machine.js';
import { failoverMachine } from '../failover/failover.machine.js';
import { switchoverMachine } from '../switchover/switchover.machine.js';
import type { PlanOutput } from '../failover/failover.types.js';
import type { ClusterContext, ClusterEvent, ClusterInput, ClusterEffectInput, ShardsEffectInput, Member } from './cluster.types.js';
import { HISTORY_LIMIT } from './cluster.types.js';
import {
  instanceName, liveMembers, isBootstrapping, allLiveRunning, needsMoreMembers, hasTooManyMembers,
  replicaToRemove, removalInProgress, primaryNeedsFailover, replicaNames, fencedReplicas,
} from './cluster.logic.js';
import { parseFencedInstances, wantsHibernation, allStopped, isFenced } from './power.logic.js';
// --- rolling updates (v4, ADR 0026) ---
import type { ConfigurationInput, RestartInput, ImageWatchInput } from './rollout.types.js';
import { initialRollout } from './rollout.types.js';
import {
  needsRollout, allServing, nextReplica, primaryNeedsRestart, updatedReplica, hasReplicas, rolloutSwitchoverId, rolledInstanceBack,
  canRollAroundFenced, membersAfterApply,
} from './rollout.logic.js';

/** How long waking waits for the primary before WakeStalled shows; `machine.provide({ delays })` overrides it. */
export const WAKE_STALL_MS = 300_000;

const effectInput = ({ context }: { context: ClusterContext }): ClusterEffectInput => ({
  cluster: { namespace: context.namespace, name: context.name }, spec: context.spec,
});
const shardsInput = ({ context }: { context: ClusterContext }): ShardsEffectInput => ({
  cluster: { namespace: context.namespace, name: context.name }, uid: context.uid, spec: context.spec,
});

/**
 * In a steady state a spec change may mean scaling; otherwise it is remembered, and the configuration catches up
 * (`configBehind` sends the steady state to `reconfiguring`).
 */
const followSpec = [
  { guard: 'needsScaleUp', target: 'scaling', actions: 'storeSpec' },
  { guard: 'needsScaleDown', target: 'scalingDown', actions: 'storeSpec' },
  { guard: 'configBehindAfterChange', target: 'reconfiguring', actions: 'storeSpec' },
  { actions: 'storeSpec' },
] as const;

// --- rolling updates (v4, ADR 0026) ---
const configurationInput = ({ context }: { context: ClusterContext }): ConfigurationInput => ({
  cluster: { namespace: context.namespace, name: context.name }, spec: context.spec, generation: context.generation, primary: context.currentPrimary,
});
const restartInput = ({ context }: { context: ClusterContext }): RestartInput => ({
  cluster: { namespace: context.namespace, name: context.name }, spec: context.spec,
  instance: context.rollout.rollingInstance ?? '', image: context.rollout.desiredImage ?? '', primary: context.currentPrimary,
});
const imageWatchInput = ({ context }: { context: ClusterContext }): ImageWatchInput => ({
  cluster: { namespace: context.namespace, name: context.name }, sharded: context.spec.sharding !== undefined,
});

export const clusterMachine = setup({
  types: {
    context: {} as ClusterContext,
    events: {} as ClusterEvent,
    input: {} as ClusterInput,
  },
  actors: {
    instance: instanceMachine,
    failover: failoverMachine,
    switchover: switchoverMachine,
    provisionCluster: notProvided<void, ClusterEffectInput>('provisionCluster'),
    deprovisionCluster: notProvided<void, ClusterEffectInput>('deprovisionCluster'),
    applyShards: notProvided<void, ShardsEffectInput>('applyShards'),
    watchShards: notProvidedCallback<ShardsEffectInput>('watchShards'),
    deleteShards: notProvided<void, ShardsEffectInput>('deleteShards'),
    waitToRetry: notProvidedCallback<ShardsEffectInput>('waitToRetry'),
    // --- rolling updates (v4, ADR 0026) ---
    /** Every instance gets the spec's configuration and reloads; settings needing a restart show as pending. */
    applyConfiguration: notProvided<void, ConfigurationInput>('applyConfiguration'),
    /** Restarts (re-creates) one instance on the wanted image and configuration; idempotent. */
    restartInstance: notProvided<void, RestartInput>('restartInstance'),
    /** Resolves the cluster's image (imageName or catalog entry) and reports it whenever it changes. */
    watchImage: notProvidedCallback<ImageWatchInput>('watchImage'),
  },
  actions: {
    storeSpec: assign(({ event, context }) => (event.type === 'spec.changed'
      ? { spec: event.spec, generation: event.generation }
      : { spec: context.spec })),
    storeError: assign({ lastError: (_, params: { error: unknown }) => String(params.error instanceof Error ? params.error.message : params.error) }),
    clearError: assign({ lastError: null }),
    storeShards: assign(({ event, context }) => {
      if (event.type !== 'shards.observed') return {};
      const all = event.shards.length === (context.spec.sharding?.shards ?? 0) && event.shards.every((s) => s.phase === 'Ready');
      return { shards: event.shards, ...(all ? { initialized: true } : {}) };
    }),
    markInitialized: assign({ initialized: true }),
    storePrimary: assign({ currentPrimary: ({ context }) => context.members[0]?.name ?? null }),

    addMember: assign(({ context, spawn }, params: { bootstrap: 'initdb' | 'clone' }) => {
      const name = instanceName(context.name, context.nextSerial);
      const member: Member = { name, serial: context.nextSerial, bootstrap: params.bootstrap, phase: 'creating', reason: null };
      spawn('instance', {
        id: name,
        input: {
          cluster: { namespace: context.namespace, name: context.name },
          owner: { uid: context.uid, generation: context.generation },
          name, serial: member.serial, bootstrap: params.bootstrap, primary: context.currentPrimary,
        },
      });
      return { members: [...context.members, member], nextSerial: context.nextSerial + 1 };
    }),

    forwardToInstance: sendTo(
      ({ event }) => ('instance' in event ? event.instance : ''),
      ({ event }) => event,
    ),
    syncInstancePhase: sendTo(({ event }) => ('instance' in event ? event.instance : ''), { type: 'phase.sync' }),

    storeMemberPhase: enqueueActions(({ context, event, enqueue }) => {
      if (event.type !== 'instance.phaseChanged') return;
      if (event.phase === 'removed') {
        enqueue.assign({ members: context.members.filter((m) => m.name !== event.instance) });
        enqueue(stopChild(event.instance));
        return;
      }
      enqueue.assign({
        members: context.members.map((m) => (m.name === event.instance ? { ...m, phase: event.phase, reason: event.reason ?? null, progress: event.progress ?? null } : m)),
      });
    }),

    observeLease: assign(({ event }) => (event.type === 'lease.observed'
      ? { leaseState: event.holder === null ? 'expired' as const : 'held' as const, lastSeenAt: event.at }
      : {})),
    observeLost: assign(({ context, event }) => (event.type === 'instance.lost' ? {
      goneInstances: event.gone ? [...new Set([...context.goneInstances, event.instance])] : context.goneInstances.filter((n) => n !== event.instance),
      ...(event.at ? { lastSeenAt: event.at } : {}),
    } : {})),
    observeReport: assign(({ context, event }) => (event.type === 'instance.reported' ? {
      goneInstances: context.goneInstances.filter((n) => n !== event.instance),
      lastPrimaryLsn: event.instance === context.currentPrimary && event.observation.role === 'primary' && event.observation.currentLsn
        ? event.observation.currentLsn : context.lastPrimaryLsn,
    } : {})),
    storePromoted: assign(({ event }) => (event.type === 'failover.promoted' ? { currentPrimary: event.instance, leaseState: 'held' as const } : {})),
    startPlan: assign(({ context }) => ({ planFrom: context.currentPrimary })),
    recordPlan: assign(({ context }, params: { output: PlanOutput }) => ({
      history: [...context.history, params.output].slice(-HISTORY_LIMIT),
      planFrom: null,
      goneInstances: [],
    })),
    recordFailedPlan: assign(({ context }, params: { kind: 'failover' | 'switchover'; error: unknown }) => {
      const message = params.error instanceof Error ? params.error.message : String(params.error);
      return {
        history: [...context.history, {
          kind: params.kind, outcome: 'failed' as const, from: context.planFrom ?? context.currentPrimary ?? '', to: null, timeline: null,
          reason: `${params.kind} plan stopped: ${message}`, startedAt: context.lastSeenAt, steps: [],
        }].slice(-HISTORY_LIMIT),
        planFrom: null,
        goneInstances: [],
        lastError: message,
      };
    }),
    recordSwitchoverRequest: assign(({ event }) => (event.type === 'switchover.requested'
      ? { lastSwitchoverRequest: event.id, pendingSwitchoverTarget: event.to, lastSeenAt: event.at } : {})),
    refuseSwitchover: assign(({ context, event }) => (event.type === 'switchover.requested' ? {
      lastSwitchoverRequest: event.id,
      history: [...context.history, {
        kind: 'switchover' as const, outcome: 'cancelled' as const, from: context.currentPrimary ?? '', to: null, timeline: null,
        reason: `switchover ${event.id} refused: the cluster is not Ready (a switchover needs a healthy primary and a streaming replica)`,
        startedAt: event.at, steps: [],
      }].slice(-HISTORY_LIMIT),
    } : {})),
    notifyOldPrimaryReturned: sendTo('failover', { type: 'primary.returned' }),

    removeNewestReplica: enqueueActions(({ context, enqueue }) => {
      const victim = replicaToRemove(context);
      if (!victim) return;
      // Marked here, not when the child reports back, so the guard that chose it is false again at once.
      enqueue.assign({ members: context.members.map((m) => (m.name === victim.name ? { ...m, phase: 'removing' as const } : m)) });
      enqueue.sendTo(victim.name, { type: 'instance.remove' });
    }),

    storeHibernationRequest: assign(({ event }) => (event.type === 'hibernation.requested' ? { hibernationAnnotation: event.annotation } : {})),
    storeFencingRequest: assign(({ context, event }) => {
      if (event.type !== 'fencing.requested') return {};
      const parsed = parseFencedInstances(event.annotation, context.members.map((m) => m.name));
      // Bad content keeps the last valid list: a typo must neither fence nor unfence anything.
      return parsed.error
        ? { fencingAnnotation: event.annotation, fencingError: parsed.error }
        : { fencingAnnotation: event.annotation, fencingError: null, fencedInstances: parsed.instances };
    }),
    // --- rolling updates (v4, ADR 0026) ---
    observeRolloutFacts: assign(({ context, event }) => {
      if (event.type !== 'instance.reported' && event.type !== 'instance.lost') return {};
      return {
        members: context.members.map((m) => {
          if (m.name !== event.instance) return m;
          if (event.type === 'instance.lost') return { ...m, ready: false };
          const o = event.observation;
          return {
            ...m, ready: o.ready, ...(o.pendingRestart !== undefined ? { pendingRestart: o.pendingRestart } : {}), ...(o.image !== undefined ? { image: o.image } : {}),
            ...(o.configGeneration !== undefined ? { configGeneration: o.configGeneration } : {}),
          };
        }),
      };
    }),
    storeImage: assign(({ context, event }) => {
      if (event.type === 'image.resolved') return { rollout: { ...context.rollout, desiredImage: event.image, imageSource: event.source, imageError: null } };
      if (event.type === 'image.unresolved') return { rollout: { ...context.rollout, imageError: event.reason } };
      return {};
    }),
    storeAppliedGeneration: assign(({ context }) => ({
      rollout: { ...context.rollout, appliedGeneration: context.generation },
      members: membersAfterApply(context, context.rollout.appliedGeneration),
    })),
    beginRollout: assign(({ context }) => ({ rollout: { ...context.rollout, rolled: [], rollingInstance: null } })),
    chooseReplica: assign(({ context }) => ({ rollout: { ...context.rollout, rollingInstance: nextReplica(context)?.name ?? null } })),
    choosePrimary: assign(({ context }) => ({ rollout: { ...context.rollout, rollingInstance: context.currentPrimary } })),
    recordRestarted: assign(({ context }) => ({
      rollout: { ...context.rollout, rolled: [...context.rollout.rolled, context.rollout.rollingInstance ?? ''].filter(Boolean), rollingInstance: null },
    })),
    requestRolloutSwitchover: assign(({ context }) => ({
      lastSwitchoverRequest: rolloutSwitchoverId(context), pendingSwitchoverTarget: updatedReplica(context)?.name ?? null,
    })),
    stallRollout: assign(({ context }) => ({
      lastError: `rolling update stopped: the rollout's switchover for this spec and image already ran, and primary ${context.currentPrimary} still needs a restart; run \`pgop switchover\` or change the spec to try again`,
    })),

    removeFailedMembers: enqueueActions(({ context, enqueue }) => {
      const failed = context.members.filter((x) => x.phase === 'failed').map((m) => m.name);
      enqueue.assign({ members: context.members.map((m) => (failed.includes(m.name) ? { ...m, phase: 'removing' as const } : m)) });
      for (const name of failed) enqueue.sendTo(name, { type: 'instance.remove' });
    }),
  },
  guards: {
    isSharded: ({ context }) => context.spec.sharding !== undefined,
    isKnownInstance: ({ context, event }) => 'instance' in event && context.members.some((m) => m.name === event.instance),
    hasNoMembers: ({ context }) => context.members.length === 0,
    primaryRunning: ({ context }) => context.members[0]?.phase === 'running',
    primaryFailed: ({ context }) => context.members[0]?.phase === 'failed',
    anyMemberFailed: ({ context }) => liveMembers(context).some((m) => m.phase === 'failed'),
    complete: ({ context }) => !needsMoreMembers(context) && !hasTooManyMembers(context) && allLiveRunning(context),
    canAddReplica: ({ context }) => needsMoreMembers(context) && !liveMembers(context).some(isBootstrapping),
    needsScaleUp: ({ context, event }) => event.type === 'spec.changed' && liveMembers(context).length < event.spec.instances,
    needsScaleDown: ({ context, event }) => event.type === 'spec.changed' && liveMembers(context).length > event.spec.instances,
    tooManyMembers: ({ context }) => hasTooManyMembers(context),
    canRemoveReplica: ({ context }) => hasTooManyMembers(context) && !removalInProgress(context) && replicaToRemove(context) !== undefined,
    membersMatch: ({ context }) => !hasTooManyMembers(context) && !removalInProgress(context),
    allRunning: ({ context }) => allLiveRunning(context),
    someNotRunning: ({ context }) => !allLiveRunning(context),
    needsFailover: ({ context }) => primaryNeedsFailover(context),
    isNewSwitchoverRequest: ({ context, event }) => event.type === 'switchover.requested' && event.id !== context.lastSwitchoverRequest,
    wantsHibernation: ({ context }) => wantsHibernation(context),
    wantsToWake: ({ context }) => !wantsHibernation(context),
    allStopped: ({ context }) => allStopped(context),
    primaryAwake: ({ context }) => {
      const p = context.members.find((m) => m.name === context.currentPrimary);
      return !p || p.phase === 'running' || isFenced(context, p.name);
    },
    // --- rolling updates (v4, ADR 0026) ---
    configBehind: ({ context }) => context.spec.sharding === undefined && context.rollout.appliedGeneration !== context.generation,
    configBehindAfterChange: ({ context, event }) => event.type === 'spec.changed' && context.spec.sharding === undefined && event.generation !== context.rollout.appliedGeneration,
    needsRollout: ({ context }) => needsRollout(context),
    rolloutDone: ({ context }) => !needsRollout(context),
    canRestartReplica: ({ context }) => allServing(context) && nextReplica(context) !== undefined,
    canRestartLonePrimary: ({ context }) => allServing(context) && primaryNeedsRestart(context) && !hasReplicas(context),
    waitsForSupervisedSwitchover: ({ context }) => allServing(context) && primaryNeedsRestart(context) && context.spec.primaryUpdateStrategy === 'supervised',
    rolloutSwitchoverTried: ({ context }) => primaryNeedsRestart(context) && context.lastSwitchoverRequest === rolloutSwitchoverId(context),
    canSwitchOverForRollout: ({ context }) => allServing(context) && primaryNeedsRestart(context) && updatedReplica(context) !== undefined,
    rolledInstanceBack: ({ context }) => rolledInstanceBack(context),
    canRollAroundFenced: ({ context }) => canRollAroundFenced(context),
    primaryUpdated: ({ context }) => !primaryNeedsRestart(context),
    isOldPrimaryReport: ({ context, event }) => event.type === 'instance.reported' && event.instance === context.planFrom && event.instance !== context.currentPrimary,
  },
  delays: {
    // An in-process wait only (DESIGN §5): a restored machine in waking starts it again, which only delays the report.
    wakeStallTimeout: WAKE_STALL_MS,
  },
}).createMachine({
  id: 'cluster',
  context: ({ input }) => ({
    ...input, members: [], nextSerial: 1, currentPrimary: null, initialized: false, lastError: null,
    leaseState: 'unknown', goneInstances: [], lastPrimaryLsn: null, planFrom: null, lastSeenAt: '', history: [], lastSwitchoverRequest: null, pendingSwitchoverTarget: null,
    shards: [], hibernationAnnotation: null, fencingAnnotation: null, fencedInstances: [], fencingError: null,
    rollout: initialRollout(input.generation),
  }),
  initial: 'starting',
  // The image watcher runs for the cluster's whole life: an edited ImageCatalog is seen in any state and rolled
  // from the next steady one.
  invoke: {
    id: 'watchImage', src: 'watchImage', input: imageWatchInput,
    // The watcher failing stops rollouts of image changes, nothing else: it shows, and a restart resumes it.
    onError: { actions: assign(({ context, event }) => ({
      rollout: { ...context.rollout, imageError: `image watch stopped: ${event.error instanceof Error ? event.error.message : String(event.error)}` },
    })) },
  },
  on: {
    'instance.reported': { guard: 'isKnownInstance', actions: ['observeReport', 'observeRolloutFacts', 'forwardToInstance', 'syncInstancePhase'] },
    'instance.lost': { guard: 'isKnownInstance', actions: ['observeLost', 'observeRolloutFacts', 'forwardToInstance', 'syncInstancePhase'] },
    'image.resolved': { actions: 'storeImage' },
    'image.unresolved': { actions: 'storeImage' },
    'instance.phaseChanged': { guard: 'isKnownInstance', actions: 'storeMemberPhase' },
    'lease.observed': { actions: 'observeLease' },
    'failover.promoted': { actions: 'storePromoted' },
    'switchover.requested': { guard: 'isNewSwitchoverRequest', actions: 'refuseSwitchover' },
    'spec.changed': { actions: 'storeSpec' },
    'cluster.deleted': { target: '.deleting' },
    'hibernation.requested': { actions: 'storeHibernationRequest' },
    'fencing.requested': { actions: 'storeFencingRequest' },
  },
  states: {
    starting: {
      always: [{ guard: 'isSharded', target: 'sharded' }, { target: 'provisioning' }],
    },
    sharded: {
      description: 'A sharded cluster runs no instance itself: each shard is a PostgresCluster it owns, each table group a ShardRange.',
      initial: 'applying',
      on: {
        'spec.changed': { target: '.applying', actions: 'storeSpec' },
        'cluster.deleted': { target: 'deletingShards' },
        'switchover.requested': { actions: 'refuseSwitchover' },
      },
      states: {
        applying: {
          invoke: {
            id: 'applyShards', src: 'applyShards', input: shardsInput,
            onDone: { target: 'observing', actions: 'clearError' },
            onError: { target: 'retrying', actions: { type: 'storeError', params: ({ event }) => ({ error: event.error }) } },
          },
        },
        retrying: {
          invoke: { id: 'waitToRetry', src: 'waitToRetry', input: shardsInput, onError: { target: 'applying' } },
          on: { 'shards.retry': { target: 'applying' } },
        },
        observing: {
          invoke: {
            id: 'watchShards', src: 'watchShards', input: shardsInput,
            onError: { target: 'retrying', actions: { type: 'storeError', params: ({ event }) => ({ error: event.error }) } },
          },
          on: { 'shards.observed': { actions: 'storeShards' } },
        },
      },
    },
    deletingShards: {
      description: 'The shards and ShardRanges go first; the sharded cluster is gone once they are.',
      on: { 'spec.changed': {}, 'cluster.deleted': {} },
      initial: 'deleting',
      states: {
        deleting: {
          invoke: {
            id: 'deleteShards', src: 'deleteShards', input: shardsInput,
            onDone: { target: '#cluster.deleted' },
            onError: { target: 'retrying', actions: { type: 'storeError', params: ({ event }) => ({ error: event.error }) } },
          },
        },
        retrying: {
          invoke: { id: 'waitToRetryDelete', src: 'waitToRetry', input: shardsInput, onError: { target: 'deleting' } },
          on: { 'shards.retry': { target: 'deleting' } },
        },
      },
    },
    provisioning: {
      description: 'Secrets, endpoints and configuration shared by every instance; idempotent.',
      invoke: {
        id: 'provisionCluster',
        src: 'provisionCluster',
        input: effectInput,
        onDone: [
          { guard: 'hasNoMembers', target: 'bootstrappingPrimary', actions: ['clearError', { type: 'addMember', params: { bootstrap: 'initdb' } }] },
          { guard: 'primaryRunning', target: 'scaling', actions: 'clearError' },
          { target: 'bootstrappingPrimary', actions: 'clearError' },
        ],
        onError: { target: 'failed', actions: { type: 'storeError', params: ({ event }) => ({ error: event.error }) } },
      },
    },
    bootstrappingPrimary: {
      always: [
        { guard: 'primaryRunning', target: 'scaling', actions: 'storePrimary' },
        { guard: 'primaryFailed', target: 'failed', actions: assign({ lastError: ({ context }) => `primary ${context.members[0]?.name} failed to bootstrap: ${context.members[0]?.reason ?? 'unknown error'}` }) },
      ],
    },
    scaling: {
      description: 'Replicas are cloned one at a time, each from the current primary with its own slot.',
      always: [
        { guard: 'needsFailover', target: 'failingOver' },
        { guard: 'anyMemberFailed', target: 'failed', actions: assign({ lastError: ({ context }) => {
          const m = liveMembers(context).find((x) => x.phase === 'failed');
          return `instance ${m?.name} failed: ${m?.reason ?? 'unknown error'}`;
        } }) },
        { guard: 'tooManyMembers', target: 'scalingDown' },
        { guard: 'complete', target: 'ready' },
        { guard: 'canAddReplica', actions: { type: 'addMember', params: { bootstrap: 'clone' } } },
      ],
    },
    scalingDown: {
      description: 'The newest replica goes first; its slot is dropped after it stops. The primary is never removed.',
      always: [
        { guard: 'needsFailover', target: 'failingOver' },
        { guard: 'canRemoveReplica', actions: 'removeNewestReplica' },
        { guard: 'membersMatch', target: 'scaling' },
      ],
    },
    ready: {
      entry: 'markInitialized',
      always: [
        { guard: 'wantsHibernation', target: 'hibernating' },
        { guard: 'someNotRunning', target: 'degraded' },
        { guard: 'configBehind', target: 'reconfiguring' },
        { guard: 'needsRollout', target: 'rollingUpdate', actions: 'beginRollout' },
      ],
      on: {
        'switchover.requested': { guard: 'isNewSwitchoverRequest', target: 'switchingOver', actions: 'recordSwitchoverRequest' },
        'spec.changed': followSpec,
      },
    },
    degraded: {
      description: 'An instance is lost or not ready; the platform recreates it on its own volume.',
      always: [
        { guard: 'needsFailover', target: 'failingOver' },
        { guard: 'wantsHibernation', target: 'hibernating' },
        { guard: 'allRunning', target: 'ready' },
        { guard: 'configBehind', target: 'reconfiguring' },
        { guard: 'canRollAroundFenced', target: 'rollingUpdate', actions: 'beginRollout' },
      ],
      on: {
        'spec.changed': followSpec,
      },
    },
    hibernating: {
      description: 'Every instance stops cleanly, the primary first (checkpoint, then fast shutdown: its replicas receive all WAL); no failover while stopping.',
      always: [
        { guard: 'wantsToWake', target: 'waking' },
        { guard: 'allStopped', target: 'hibernated' },
      ],
    },
    hibernated: {
      description: 'Data kept, nothing running; lost instances are expected here and never start a failover.',
      always: [{ guard: 'wantsToWake', target: 'waking' }],
    },
    waking: {
      description: 'The same primary starts first and takes its lease back; replicas start once it runs and stream from it again.',
      always: [
        { guard: 'wantsHibernation', target: 'hibernating' },
        { guard: 'primaryAwake', target: 'settling' },
      ],
      after: { wakeStallTimeout: { target: 'wakeStalled' } },
    },
    wakeStalled: {
      description: 'Still waking after the bounded wait: WakeStalled names the primary and why; it keeps waiting, and waking ends as soon as it runs.',
      always: [
        { guard: 'wantsHibernation', target: 'hibernating' },
        { guard: 'primaryAwake', target: 'settling' },
      ],
    },
    // --- rolling updates (v4, ADR 0026) ---
    reconfiguring: {
      description: 'The spec\'s configuration reaches every instance, which reloads: reload-only settings apply in place; settings needing a restart show as pending_restart and start a rolling update.',
      invoke: {
        id: 'applyConfiguration', src: 'applyConfiguration', input: configurationInput,
        onDone: { target: 'settling', actions: ['storeAppliedGeneration', 'clearError'] },
        // Marked applied anyway: a broken spec must not loop; the error shows and the next spec change retries.
        onError: { target: 'settling', actions: ['storeAppliedGeneration', { type: 'storeError', params: ({ event }) => ({ error: event.error }) }] },
      },
      on: {
        'spec.changed': { target: 'reconfiguring', reenter: true, actions: 'storeSpec' },
      },
    },
    rollingUpdate: {
      description: 'One instance at a time, each back and serving before the next: replicas first, then a switchover to an updated replica (unsupervised) or a wait for one (supervised), so the old primary goes last.',
      initial: 'choosing',
      on: { 'spec.changed': followSpec },
      states: {
        choosing: {
          always: [
            { guard: 'needsFailover', target: '#cluster.failingOver' },
            { guard: 'rolloutDone', target: '#cluster.settling' },
            { guard: 'canRestartReplica', target: 'restarting', actions: 'chooseReplica' },
            { guard: 'canRestartLonePrimary', target: 'restarting', actions: 'choosePrimary' },
            { guard: 'waitsForSupervisedSwitchover', target: 'awaitingSwitchover' },
            { guard: 'rolloutSwitchoverTried', target: 'stalled', actions: 'stallRollout' },
            { guard: 'canSwitchOverForRollout', target: '#cluster.switchingOver', actions: 'requestRolloutSwitchover' },
          ],
        },
        restarting: {
          invoke: {
            id: 'restartInstance', src: 'restartInstance', input: restartInput,
            onDone: { target: 'waitingForInstance' },
            onError: { target: 'stalled', actions: { type: 'storeError', params: ({ event }) => ({ error: event.error }) } },
          },
        },
        waitingForInstance: {
          description: 'Waits on the instance\'s own reports (serving, on the wanted image, nothing pending), not on a timer.',
          always: [
            { guard: 'needsFailover', target: '#cluster.failingOver' },
            { guard: 'rolledInstanceBack', target: 'choosing', actions: 'recordRestarted' },
          ],
        },
        awaitingSwitchover: {
          description: 'primaryUpdateStrategy: supervised — every replica is updated; the primary is updated after the user asks for a switchover.',
          always: [
            { guard: 'needsFailover', target: '#cluster.failingOver' },
            { guard: 'primaryUpdated', target: 'choosing' },
          ],
          on: {
            'switchover.requested': { guard: 'isNewSwitchoverRequest', target: '#cluster.switchingOver', actions: 'recordSwitchoverRequest' },
          },
        },
        stalled: {
          description: 'A restart or the rollout\'s switchover failed: the reason shows in status; a spec change (or a switchover) retries.',
          always: [{ guard: 'needsFailover', target: '#cluster.failingOver' }, { guard: 'rolloutDone', target: '#cluster.settling' }],
          on: {
            'switchover.requested': { guard: 'isNewSwitchoverRequest', target: '#cluster.switchingOver', actions: 'recordSwitchoverRequest' },
          },
        },
      },
    },
    failingOver: {
      description: 'The primary is lost and provably not serving writes (lease expired, or its processes gone): run the promotion plan.',
      entry: 'startPlan',
      invoke: {
        id: 'failover',
        src: 'failover',
        input: ({ context }) => ({
          cluster: { namespace: context.namespace, name: context.name },
          oldPrimary: context.currentPrimary ?? '',
          replicas: replicaNames(context),
          fenced: fencedReplicas(context),
          synchronous: context.spec.postgresql?.synchronous ?? null,
          maxLagBytes: context.spec.ha?.maxLagOnFailoverBytes ?? null,
          lastPrimaryLsn: context.lastPrimaryLsn,
          reason: `primary ${context.currentPrimary} lost (${context.members.find((m) => m.name === context.currentPrimary)?.reason ?? 'unreachable'})`,
          startedAt: context.lastSeenAt,
        }),
        onDone: { target: 'settling', actions: { type: 'recordPlan', params: ({ event }) => ({ output: event.output }) } },
        // The plan's own actor failing (not one of its steps: those end in its named states) is recorded as a
        // failed plan; the cluster goes on observing and plans again if the primary is still lost.
        onError: { target: 'settling', actions: { type: 'recordFailedPlan', params: ({ event }) => ({ kind: 'failover' as const, error: event.error }) } },
      },
      on: {
        'instance.reported': [
          { guard: 'isOldPrimaryReport', actions: ['observeReport', 'observeRolloutFacts', 'forwardToInstance', 'notifyOldPrimaryReturned'] },
          { guard: 'isKnownInstance', actions: ['observeReport', 'observeRolloutFacts', 'forwardToInstance'] },
        ],
      },
    },
    switchingOver: {
      entry: 'startPlan',
      invoke: {
        id: 'switchover',
        src: 'switchover',
        input: ({ context }) => ({
          cluster: { namespace: context.namespace, name: context.name },
          requestId: context.lastSwitchoverRequest ?? '',
          primary: context.currentPrimary ?? '',
          target: context.pendingSwitchoverTarget,
          replicas: replicaNames(context),
          startedAt: context.lastSeenAt,
        }),
        onDone: { target: 'settling', actions: { type: 'recordPlan', params: ({ event }) => ({ output: event.output }) } },
        onError: { target: 'settling', actions: { type: 'recordFailedPlan', params: ({ event }) => ({ kind: 'switchover' as const, error: event.error }) } },
      },
    },
    settling: {
      always: [
        { guard: 'needsFailover', target: 'failingOver' },
        { guard: 'allRunning', target: 'ready' },
        { target: 'degraded' },
      ],
    },
    failed: {
      description: 'A change to the spec is the retry: failed instances are removed and provisioning starts over.',
      on: {
        'spec.changed': { target: 'provisioning', actions: ['storeSpec', 'removeFailedMembers'] },
      },
    },
    deleting: {
      on: { 'spec.changed': {}, 'cluster.deleted': {} },
      invoke: {
        id: 'deprovisionCluster',
        src: 'deprovisionCluster',
        input: effectInput,
        onDone: { target: 'deleted' },
        onError: { target: 'failed', actions: { type: 'storeError', params: ({ event }) => ({ error: event.error }) } },
      },
    },
    deleted: { type: 'final' },
  },
});

export type ClusterMachine = typeof clusterMachine;
