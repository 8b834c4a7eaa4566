// The instance agent's own lifecycle. Make a data directory (initdb or pg_basebackup); a primary's data only runs
// after the agent holds the primary lease, otherwise it rejoins the lease holder as a replica (pg_rewind). While
// up, postgres is supervised (restart with backoff) and a primary renews its lease; a primary that cannot renew,
// or whose postgres stays down for a whole lease, fences itself. Promotion and demotion arrive from the operator.
// The agent is not restored from snapshots (it re-derives everything from its data directory), so short `after`
// timers are safe here.
import { setup, assign, sendTo } from 'xstate';
import { notProvided, notProvidedCallback } from '../shared/placeholder.js';
import type {
  AgentContext, AgentEvent, AgentInput, ClaimResult, DataDirState, DemoteInput, RejoinInput, RoleInput, SupervisorInput,
} from './agent.types.js';

const self = ({ context }: { context: AgentContext }) => ({ instance: context.instance });
/** The operator fences an instance on Kubernetes by holding its agent (ADR 0037): accepted wherever postgres may run. */
const HOLD = { target: '#agent.holding', actions: 'storeHoldReason' } as const;

export const agentMachine = setup({
  types: {
    context: {} as AgentContext,
    events: {} as AgentEvent,
    input: {} as AgentInput,
  },
  actors: {
    inspectDataDir: notProvided<DataDirState, SupervisorInput>('inspectDataDir'),
    bootstrapDataDir: notProvided<void, SupervisorInput>('bootstrapDataDir'),
    claimLease: notProvided<ClaimResult, SupervisorInput>('claimLease'),
    rejoinPrimary: notProvided<void, RejoinInput>('rejoinPrimary'),
    /** Long-lived: spawns postgres, sends postgres.ready / postgres.stable / postgres.exited; stops it on exit. */
    runPostgres: notProvidedCallback<SupervisorInput>('runPostgres'),
    /** Long-lived while up: as primary, renews the lease (sends lease.lost when it cannot) and keeps sync standbys. */
    primaryDuties: notProvidedCallback<RoleInput>('primaryDuties'),
    /** Long-lived while fenced: watches the lease and sends lease.granted or lease.follow. */
    awaitLease: notProvidedCallback<SupervisorInput>('awaitLease'),
    prepareInstance: notProvided<void, RoleInput>('prepareInstance'),
    applyConfig: notProvided<void, SupervisorInput>('applyConfig'),
    promoteReplica: notProvided<void, SupervisorInput>('promoteReplica'),
    demotePrimary: notProvided<{ checkpointLsn: string }, DemoteInput>('demotePrimary'),
    fencePostgres: notProvided<void, SupervisorInput>('fencePostgres'),
    stopPostgres: notProvided<void, SupervisorInput>('stopPostgres'),
  },
  actions: {
    recordExit: assign(({ context, event }) => (event.type === 'postgres.exited' ? {
      restarts: context.restarts + 1,
      crashStreak: context.crashStreak + 1,
      lastExit: `${event.signal ? `killed by ${event.signal}` : `exited with code ${event.code}`}${event.reason ? `: ${event.reason}` : ''}`,
    } : {})),
    resetStreak: assign({ crashStreak: 0 }),
    storeBootstrapError: assign({ bootstrapError: (_, params: { error: unknown }) => errorText(params.error) }),
    storeError: assign({ lastError: (_, params: { error: unknown }) => errorText(params.error) }),
    becomePrimary: assign({ role: 'primary', upstream: null, fencedReason: null, demotedAt: null }),
    becomeReplica: assign({ role: 'replica', fencedReason: null }),
    storeFenceReason: assign({ fencedReason: (_, params: { reason: string }) => params.reason }),
    storeHoldReason: assign({ fencedReason: ({ event }) => (event.type === 'agent.hold' ? event.reason : 'held by the operator') }),
    startPrimaryDuties: sendTo('primaryDuties', { type: 'role.primary' }),
  },
  guards: {
    isPrimary: ({ context }) => context.role === 'primary',
    isReplica: ({ context }) => context.role === 'replica',
  },
  delays: {
    backoff: ({ context }) => Math.min(context.maxBackoffMs, 1000 * 2 ** Math.max(0, context.crashStreak - 1)),
    leaseGrace: ({ context }) => context.leaseMs,
  },
}).createMachine({
  id: 'agent',
  context: ({ input }) => ({
    ...input, role: 'unknown', restarts: 0, crashStreak: 0, lastExit: null, bootstrapError: null,
    fencedReason: null, upstream: null, lastError: null, demotedAt: null, handoverTo: null,
  }),
  initial: 'initializing',
  on: { 'agent.stop': '.stopping' },
  states: {
    initializing: {
      invoke: {
        id: 'inspectDataDir',
        src: 'inspectDataDir',
        input: self,
        onDone: [
          { guard: ({ event }) => !event.output.initialized, target: 'bootstrapping' },
          { guard: ({ event }) => event.output.standby, target: 'up', actions: 'becomeReplica' },
          { target: 'claiming' },
        ],
        onError: { target: 'bootstrapFailed', actions: { type: 'storeBootstrapError', params: ({ event }) => ({ error: event.error }) } },
      },
    },
    bootstrapping: {
      description: 'A data directory that never finished bootstrapping holds no user data, so it is wiped and redone.',
      invoke: {
        id: 'bootstrapDataDir',
        src: 'bootstrapDataDir',
        input: self,
        onDone: { target: 'initializing' },
        onError: { target: 'bootstrapFailed', actions: { type: 'storeBootstrapError', params: ({ event }) => ({ error: event.error }) } },
      },
    },
    bootstrapFailed: {
      description: 'Permanent: reported to the operator, which decides whether to remove and recreate the instance.',
    },
    claiming: {
      description: 'Primary data runs only under the lease. Held by another instance: rejoin it. Held by an operator plan: wait.',
      invoke: {
        id: 'claimLease',
        src: 'claimLease',
        input: self,
        onDone: [
          { guard: ({ event }) => event.output.kind === 'granted', target: 'up', actions: 'becomePrimary' },
          {
            guard: ({ event }) => event.output.kind === 'follow',
            target: 'rejoining',
            actions: assign({ upstream: ({ event }) => (event.output.kind === 'follow' ? event.output.primary : null) }),
          },
          { target: 'waitingForLease', actions: assign({ fencedReason: ({ event }) => (event.output.kind === 'wait' ? event.output.reason : null) }) },
        ],
        onError: { target: 'waitingForLease', actions: { type: 'storeError', params: ({ event }) => ({ error: event.error }) } },
      },
    },
    waitingForLease: { after: { 1000: 'claiming' }, on: { 'agent.hold': HOLD } },
    rejoining: {
      description: 'pg_rewind onto the lease holder\'s timeline (a fresh clone when rewind cannot), then run as its replica.',
      invoke: {
        id: 'rejoinPrimary',
        src: 'rejoinPrimary',
        input: ({ context }) => ({ instance: context.instance, upstream: context.upstream ?? { name: '', host: '', port: 0 } }),
        onDone: { target: 'up', actions: 'becomeReplica' },
        onError: { target: 'rejoinBackoff', actions: { type: 'storeError', params: ({ event }) => ({ error: event.error }) } },
      },
    },
    rejoinBackoff: { after: { 3000: 'claiming' }, on: { 'agent.hold': HOLD } },
    up: {
      type: 'parallel',
      invoke: {
        id: 'primaryDuties', src: 'primaryDuties', input: ({ context }) => ({ instance: context.instance, role: context.role }),
        // Without its duties (lease renewal) a primary must not go on accepting writes.
        onError: { target: 'fencing', actions: { type: 'storeFenceReason', params: ({ event }) => ({ reason: `primary duties failed: ${errorText(event.error)}` }) } },
      },
      on: {
        'lease.lost': { guard: 'isPrimary', target: 'fencing', actions: { type: 'storeFenceReason', params: ({ event }) => ({ reason: event.reason }) } },
        'agent.fence': { target: 'fencing', actions: { type: 'storeFenceReason', params: ({ event }) => ({ reason: event.reason }) } },
        'agent.hold': HOLD,
      },
      states: {
        postgres: {
          initial: 'supervising',
          states: {
            supervising: {
              invoke: {
                id: 'runPostgres', src: 'runPostgres', input: self,
                // The supervisor itself failing counts as a crash: restart with backoff.
                onError: { target: 'crashed', actions: { type: 'storeError', params: ({ event }) => ({ error: event.error }) } },
              },
              on: {
                'postgres.exited': { target: 'crashed', actions: 'recordExit' },
                'postgres.stable': { actions: 'resetStreak' },
              },
              initial: 'starting',
              states: {
                starting: { on: { 'postgres.ready': 'preparing' } },
                preparing: {
                  description: 'Roles, databases and the sync standby list an instance needs before it reports ready; idempotent.',
                  invoke: {
                    id: 'prepareInstance',
                    src: 'prepareInstance',
                    input: ({ context }) => ({ instance: context.instance, role: context.role }),
                    onDone: 'running',
                    onError: { target: 'retryingPrepare', actions: { type: 'storeError', params: ({ event }) => ({ error: event.error }) } },
                  },
                },
                retryingPrepare: { after: { 1000: 'preparing' } },
                running: {
                  on: {
                    'config.changed': 'reconfiguring',
                    'agent.promote': { guard: 'isReplica', target: 'promoting' },
                    'agent.demote': { guard: 'isPrimary', target: '#agent.demoting', actions: assign({ handoverTo: ({ event }) => event.handoverTo }) },
                  },
                },
                reconfiguring: {
                  invoke: {
                    id: 'applyConfig', src: 'applyConfig', input: self,
                    onDone: 'running',
                    onError: { target: 'running', actions: { type: 'storeError', params: ({ event }) => ({ error: event.error }) } },
                  },
                },
                promoting: {
                  description: 'Only with the lease in hand (the operator hands it over first): pg_promote, then primary duties.',
                  invoke: {
                    id: 'promoteReplica', src: 'promoteReplica', input: self,
                    onDone: { target: 'running', actions: ['becomePrimary', 'startPrimaryDuties'] },
                    onError: { target: 'running', actions: { type: 'storeError', params: ({ event }) => ({ error: event.error }) } },
                  },
                },
              },
            },
            crashed: {
              description: 'Restart in place with backoff, as Patroni does, before anyone considers the instance lost.',
              after: { backoff: 'supervising' },
            },
          },
        },
        watchdog: {
          initial: 'healthy',
          states: {
            healthy: { on: { 'postgres.exited': 'postgresDown' } },
            postgresDown: {
              description: 'A primary whose postgres stays down for a whole lease gives the lease up so a replica can take over.',
              on: { 'postgres.ready': 'healthy' },
              after: {
                leaseGrace: {
                  guard: 'isPrimary',
                  target: '#agent.fencing',
                  actions: { type: 'storeFenceReason', params: { reason: 'postgres did not come back within the lease' } },
                },
              },
            },
          },
        },
      },
    },
    fencing: {
      invoke: { id: 'fencePostgres', src: 'fencePostgres', input: self, onDone: 'fenced', onError: 'fenced' },
    },
    fenced: {
      description: 'Not accepting writes. Waits for the lease: back to primary if it is granted again, else rejoin the new primary.',
      invoke: {
        id: 'awaitLease', src: 'awaitLease', input: self,
        onError: { target: 'retryingAwaitLease', actions: { type: 'storeError', params: ({ event }) => ({ error: event.error }) } },
      },
      on: {
        'lease.granted': 'claiming',
        'lease.follow': { target: 'rejoining', actions: assign({ upstream: ({ event }) => event.primary }) },
        'agent.hold': HOLD,
      },
    },
    retryingAwaitLease: {
      description: 'Watching the lease failed: still fenced; watch again shortly.',
      after: { 1000: 'fenced' },
      on: { 'agent.hold': HOLD },
    },
    holding: {
      description: 'Fenced by the operator: a fast shutdown (a primary keeps its lease until it expires; it is not failed over).',
      invoke: { id: 'holdPostgres', src: 'stopPostgres', input: self, onDone: 'held', onError: 'held' },
    },
    held: {
      description: 'Postgres stays stopped while the agent serves its API (not ready). Released, it starts like a fresh agent.',
      on: { 'agent.release': { target: 'initializing', actions: assign({ fencedReason: null }) } },
    },
    demoting: {
      description: 'Clean switchover: checkpoint, fast shutdown, give the lease up; the final LSN tells the candidate what to replay.',
      invoke: {
        id: 'demotePrimary', src: 'demotePrimary', input: ({ context }) => ({ instance: context.instance, handoverTo: context.handoverTo ?? '' }),
        onDone: { target: 'fenced', actions: assign({ role: 'replica', demotedAt: ({ event }) => event.output.checkpointLsn, fencedReason: 'demoted for switchover' }) },
        onError: { target: 'fencing', actions: { type: 'storeError', params: ({ event }) => ({ error: event.error }) } },
      },
    },
    stopping: {
      invoke: { id: 'stopPostgres', src: 'stopPostgres', input: self, onDone: 'stopped', onError: 'stopped' },
    },
    stopped: { type: 'final' },
  },
});

function errorText(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
