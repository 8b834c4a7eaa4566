// The instance agent's own lifecycle: make a data directory (initdb for the first primary, pg_basebackup for a
// replica), then supervise postgres, restarting it after a crash with exponential backoff, until told to stop.
import { setup, assign } from 'xstate';
import { notProvided, notProvidedCallback } from '../shared/placeholder.js';
import type { AgentContext, AgentEvent, AgentInput, DataDirState, SupervisorInput } from './agent.types.js';

export const agentMachine = setup({
  types: {
    context: {} as AgentContext,
    events: {} as AgentEvent,
    input: {} as AgentInput,
  },
  actors: {
    inspectDataDir: notProvided<DataDirState, SupervisorInput>('inspectDataDir'),
    bootstrapDataDir: notProvided<void, SupervisorInput>('bootstrapDataDir'),
    /** Long-lived: spawns postgres, sends postgres.ready / postgres.stable / postgres.exited; kills it on exit. */
    runPostgres: notProvidedCallback<SupervisorInput>('runPostgres'),
    prepareInstance: notProvided<void, SupervisorInput>('prepareInstance'),
    applyConfig: notProvided<void, SupervisorInput>('applyConfig'),
    stopPostgres: notProvided<void, SupervisorInput>('stopPostgres'),
  },
  actions: {
    recordExit: assign(({ context, event }) => (event.type === 'postgres.exited' ? {
      restarts: context.restarts + 1,
      crashStreak: context.crashStreak + 1,
      lastExit: event.signal ? `killed by ${event.signal}` : `exited with code ${event.code}`,
    } : {})),
    resetStreak: assign({ crashStreak: 0 }),
    storeBootstrapError: assign({ bootstrapError: (_, params: { error: unknown }) => (params.error instanceof Error ? params.error.message : String(params.error)) }),
  },
  delays: {
    backoff: ({ context }) => Math.min(context.maxBackoffMs, 1000 * 2 ** Math.max(0, context.crashStreak - 1)),
  },
}).createMachine({
  id: 'agent',
  context: ({ input }) => ({ ...input, restarts: 0, crashStreak: 0, lastExit: null, bootstrapError: null }),
  initial: 'initializing',
  on: { 'agent.stop': '.stopping' },
  states: {
    initializing: {
      invoke: {
        id: 'inspectDataDir',
        src: 'inspectDataDir',
        input: ({ context }) => ({ instance: context.instance }),
        onDone: [{ guard: ({ event }) => event.output.initialized, target: 'supervising' }, { target: 'bootstrapping' }],
        onError: { target: 'bootstrapFailed', actions: { type: 'storeBootstrapError', params: ({ event }) => ({ error: event.error }) } },
      },
    },
    bootstrapping: {
      description: 'A data directory that never finished bootstrapping holds no user data, so it is wiped and redone.',
      invoke: {
        id: 'bootstrapDataDir',
        src: 'bootstrapDataDir',
        input: ({ context }) => ({ instance: context.instance }),
        onDone: { target: 'supervising' },
        onError: { target: 'bootstrapFailed', actions: { type: 'storeBootstrapError', params: ({ event }) => ({ error: event.error }) } },
      },
    },
    bootstrapFailed: {
      description: 'Permanent: reported to the operator, which decides whether to remove and recreate the instance.',
    },
    supervising: {
      invoke: { id: 'runPostgres', src: 'runPostgres', input: ({ context }) => ({ instance: context.instance }) },
      on: {
        'postgres.exited': { target: 'crashed', actions: 'recordExit' },
        'postgres.stable': { actions: 'resetStreak' },
      },
      initial: 'starting',
      states: {
        starting: { on: { 'postgres.ready': 'preparing' } },
        preparing: {
          description: 'Roles, databases and slots the instance must have before it reports ready; idempotent.',
          invoke: {
            id: 'prepareInstance',
            src: 'prepareInstance',
            input: ({ context }) => ({ instance: context.instance }),
            onDone: 'running',
            onError: 'retryingPrepare',
          },
        },
        retryingPrepare: { after: { 1000: 'preparing' } },
        running: {
          on: { 'config.changed': 'reconfiguring' },
        },
        reconfiguring: {
          invoke: {
            id: 'applyConfig',
            src: 'applyConfig',
            input: ({ context }) => ({ instance: context.instance }),
            onDone: 'running',
            onError: 'running',
          },
        },
      },
    },
    crashed: {
      description: 'Restart in place with backoff, as Patroni does, before anyone considers the instance lost.',
      after: { backoff: 'supervising' },
    },
    stopping: {
      invoke: {
        id: 'stopPostgres',
        src: 'stopPostgres',
        input: ({ context }) => ({ instance: context.instance }),
        onDone: 'stopped',
        onError: 'stopped',
      },
    },
    stopped: { type: 'final' },
  },
});
