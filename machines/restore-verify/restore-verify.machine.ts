// Restore rehearsals of one cluster (spec.backup.verify): waiting until the schedule fires → verifying (a queued
// step restores the latest backup into a throwaway instance, checks it and compares the backup's table
// fingerprint) → waiting again, with the result kept. Time arrives as `clock.ticked` events from an invoked timer
// slot that is re-armed from context on restore, so a missed run while the operator was down is caught up exactly
// once: the first tick finds the stored nextRunAt in the past, runs, and the next run is computed from that tick.
import { setup, assign } from 'xstate';
import { notProvidedCallback } from '../shared/placeholder.js';
import type { VerifyContext, VerifyEvent, VerifyInput, VerifyRequest, VerifyResult } from './restore-verify.types.js';
import { asVerifyResult, isDue, keepLast, nextRun } from './restore-verify.logic.js';

const request = ({ context }: { context: VerifyContext }): VerifyRequest => ({
  namespace: context.namespace, cluster: context.name, uid: context.uid, run: context.runs, startedAt: context.runningSince ?? '',
});

export const restoreVerifyMachine = setup({
  types: {
    context: {} as VerifyContext,
    events: {} as VerifyEvent,
    input: {} as VerifyInput,
  },
  actors: {
    /** Timer: sends clock.ticked { now } at once, at `at`, and at least every minute (clock jumps, long waits). */
    waitForNextRun: notProvidedCallback<{ at: string | null }>('waitForNextRun'),
    /** Queued step: restore the latest backup into a throwaway instance and verify it; reports step.* events. */
    runRestoreVerify: notProvidedCallback<VerifyRequest>('runRestoreVerify'),
  },
  actions: {
    armFromTick: assign({ nextRunAt: ({ context, event }) => (event.type === 'clock.ticked' ? nextRun(context.schedule, event.now) : context.nextRunAt) }),
    startRun: assign(({ context, event }) => ({
      runs: context.runs + 1, runningSince: event.type === 'clock.ticked' ? event.now : context.runningSince, progress: null,
    })),
    storeSpec: assign(({ context, event }) => (event.type === 'spec.changed'
      ? { schedule: event.schedule, keep: event.keep, nextRunAt: null, history: context.history.slice(-event.keep) } : {})),
    storeProgress: assign({ progress: ({ event, context }) => (event.type === 'step.progress' ? event.progress : context.progress) }),
    recordResult: assign(({ context, event }) => {
      const r = event.type === 'step.succeeded' ? asVerifyResult(event.result) : null;
      const result: VerifyResult = r ?? {
        verified: false, reason: 'RehearsalFailed', message: 'the rehearsal step returned no result', startedAt: context.runningSince ?? '',
      };
      return finish(context, result);
    }),
    recordStepFailure: assign(({ context, event }) => finish(context, {
      verified: false, reason: 'RehearsalFailed', startedAt: context.runningSince ?? '',
      message: `the rehearsal could not run: ${event.type === 'step.failed' ? event.error : 'unknown error'}`,
    })),
    recordInvokeError: assign(({ context }, params: { error: unknown }) => finish(context, {
      verified: false, reason: 'RehearsalFailed', startedAt: context.runningSince ?? '',
      message: `the rehearsal could not run: ${params.error instanceof Error ? params.error.message : String(params.error)}`,
    })),
  },
  guards: {
    isUnarmed: ({ context }) => context.nextRunAt === null,
    isDue: ({ context, event }) => event.type === 'clock.ticked' && isDue(context.nextRunAt, event.now),
  },
}).createMachine({
  id: 'restoreVerify',
  context: ({ input }) => ({ ...input, nextRunAt: null, runs: 0, runningSince: null, progress: null, history: [] }),
  initial: 'arming',
  states: {
    arming: {
      description: 'No next run yet (a new actor or a changed schedule): the first tick counts the next run from now.',
      invoke: {
        id: 'waitForFirstTick', src: 'waitForNextRun', input: () => ({ at: null }),
        onError: { target: 'timerStopped' },
      },
      on: {
        'clock.ticked': { target: 'waiting', actions: 'armFromTick' },
        'spec.changed': { target: 'arming', reenter: true, actions: 'storeSpec' },
      },
    },
    waiting: {
      description: 'The timer is armed from context.nextRunAt, so a restored actor waits for the same time; a past one runs at once, once.',
      invoke: {
        id: 'waitForNextRun', src: 'waitForNextRun', input: ({ context }) => ({ at: context.nextRunAt }),
        onError: { target: 'timerStopped' },
      },
      always: { guard: 'isUnarmed', target: 'arming' },
      on: {
        'clock.ticked': { guard: 'isDue', target: 'verifying', actions: 'startRun' },
        'spec.changed': { target: 'arming', actions: 'storeSpec' },
      },
    },
    timerStopped: {
      description: 'The timer itself failed (never expected): nothing runs until the schedule changes or the operator restarts, which re-arms it.',
      on: { 'spec.changed': { target: 'arming', actions: 'storeSpec' } },
    },
    verifying: {
      description: 'A BullMQ job with a deterministic id (cluster uid + run number): after an operator restart the machine re-attaches to it.',
      invoke: {
        id: 'runRestoreVerify', src: 'runRestoreVerify', input: request,
        onError: { target: 'waiting', actions: { type: 'recordInvokeError', params: ({ event }) => ({ error: event.error }) } },
      },
      initial: 'queued',
      states: {
        queued: { on: { 'step.progress': { target: 'running', actions: 'storeProgress' } } },
        running: { on: { 'step.progress': { actions: 'storeProgress' } } },
      },
      on: {
        'step.succeeded': { target: 'waiting', actions: 'recordResult' },
        'step.failed': { target: 'waiting', actions: 'recordStepFailure' },
        // A schedule change waits for the running rehearsal; the next one follows the new schedule.
        'spec.changed': { actions: assign(({ event }) => ({ schedule: event.schedule, keep: event.keep })) },
      },
    },
  },
});

/** The result kept, the run closed, and the next run counted from when this one began (one catch-up at most). */
function finish(context: VerifyContext, result: VerifyResult): Partial<VerifyContext> {
  return {
    history: keepLast(context.history, result, context.keep),
    runningSince: null,
    progress: null,
    nextRunAt: nextRun(context.schedule, result.finishedAt ?? result.startedAt),
  };
}

export type RestoreVerifyMachine = typeof restoreVerifyMachine;
