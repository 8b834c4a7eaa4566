// One ScheduledBackup: waits for the next cron occurrence (a timer actor the adapter provides; the machine reads no
// clock), then checks the BackupJobs it owns, skips (forbid) or deletes (replace) one still running, creates the
// occurrence's BackupJob (owner reference, deterministic name) and prunes finished jobs beyond the history limits.
// `since` in context is the durable deadline: a restored machine re-arms its timer from it, so an operator outage
// yields one catch-up run for the latest missed occurrence, never one per missed occurrence. Before an occurrence's
// BackupJob is created (while its jobs are listed or replaced, and again after a store error), the timer is asked
// again from it: if a later occurrence is already due, because the operator stopped or the store failed in between,
// the later one supersedes it, so an outage mid-occurrence still ends in one BackupJob. (A machine restored in
// `creating` re-issues its create, which had been issued already: idempotent, same name.)
import { setup, assign } from 'xstate';
import { notProvided, notProvidedCallback } from '../shared/placeholder.js';
import type {
  CreateJobInput, DeleteJobsInput, JobRecord, ScheduleOwner, ScheduledBackupContext, ScheduledBackupEvent, ScheduledBackupInput, TimerInput,
} from './scheduled-backup.types.js';
import { activeJobs, jobNameFor, prunable } from './scheduled-backup.logic.js';

const errorText = (e: unknown) => (e instanceof Error ? e.message : String(e));
const owner = ({ context }: { context: ScheduledBackupContext }): ScheduleOwner => ({ namespace: context.namespace, name: context.name, uid: context.uid });
/** Retry backoff: 1 s doubling to 30 s. */
export const retryDelayMs = (attempts: number) => Math.min(30_000, 1000 * 2 ** Math.min(Math.max(attempts - 1, 0), 5));

/** The timer again, from the occurrence being acted on: it reports a later one only if that is already due. */
const laterOccurrence = {
  id: 'watchLaterOccurrence', src: 'waitForSchedule',
  input: ({ context }: { context: ScheduledBackupContext }) => ({ schedule: context.spec.schedule, since: context.due?.scheduledAt ?? context.createdAt, catchUp: true }),
  onError: { target: '#scheduledBackup.invalid', actions: { type: 'storeError', params: ({ event }: { event: { error: unknown } }) => ({ error: event.error }) } },
} as const;

export const scheduledBackupMachine = setup({
  types: {
    context: {} as ScheduledBackupContext,
    events: {} as ScheduledBackupEvent,
    input: {} as ScheduledBackupInput,
  },
  actors: {
    /** Sends schedule.planned (nothing due before `next`) and schedule.due when an occurrence is reached. */
    waitForSchedule: notProvidedCallback<TimerInput>('waitForSchedule'),
    /** Sends jobs.observed whenever the BackupJobs this schedule owns change (phase, appearance, removal). */
    watchJobs: notProvidedCallback<ScheduleOwner>('watchJobs'),
    /** The BackupJobs this schedule owns, read fresh from the store. */
    listJobs: notProvided<JobRecord[], ScheduleOwner>('listJobs'),
    /** Creates the BackupJob with an owner reference; an existing one of the same name and owner is success. */
    createBackupJob: notProvided<void, CreateJobInput>('createBackupJob'),
    /** Deletes BackupJobs of this schedule by name; absent ones are success. */
    deleteBackupJobs: notProvided<void, DeleteJobsInput>('deleteBackupJobs'),
    /** Sends retry.due after `delayMs` (re-armed on restore, like every callback actor). */
    waitToRetry: notProvidedCallback<{ delayMs: number }>('waitToRetry'),
  },
  guards: {
    isSuspended: ({ context }) => context.spec.suspend,
    isResumed: ({ context }) => !context.spec.suspend,
    runsImmediately: ({ context }) => context.spec.immediate && context.since === null,
    forbidsWhileActive: ({ context }) => context.spec.concurrencyPolicy === 'forbid' && activeJobs(context.jobs).length > 0,
    replacesActive: ({ context }) => context.spec.concurrencyPolicy === 'replace' && activeJobs(context.jobs).length > 0,
    hasPrunable: ({ context }) => prunable(context.jobs, context.spec).length > 0,
    hasDueRun: ({ context }) => context.due !== null && !context.spec.suspend,
    isLaterOccurrence: ({ context, event }) => event.type === 'schedule.due' && event.scheduledAt > (context.due?.scheduledAt ?? context.createdAt),
  },
  actions: {
    storeSpec: assign((_, params: { spec: ScheduledBackupContext['spec']; generation: number }) => ({ spec: params.spec, generation: params.generation })),
    storeJobs: assign((_, params: { jobs: JobRecord[] }) => ({ jobs: params.jobs })),
    storePlan: assign((_, params: { at: string; next: string | null }) => ({ since: params.at, nextScheduleTime: params.next, skipMissed: false })),
    storeDue: assign(({ context }, params: { scheduledAt: string; missed: number; next: string | null }) => ({
      since: params.scheduledAt, nextScheduleTime: params.next, skipMissed: false,
      due: { scheduledAt: params.scheduledAt, missed: params.missed }, missedRuns: context.missedRuns + params.missed,
    })),
    /** The occurrence being acted on is passed over for a later one already due: it counts as missed too. */
    supersede: assign(({ context }, params: { scheduledAt: string; missed: number; next: string | null }) => ({
      since: params.scheduledAt, nextScheduleTime: params.next,
      due: { scheduledAt: params.scheduledAt, missed: params.missed + 1 }, missedRuns: context.missedRuns + params.missed + 1,
    })),
    dueAtCreation: assign(({ context }) => ({ since: context.createdAt, due: { scheduledAt: context.createdAt, missed: 0 } })),
    recordSkipped: assign(({ context }) => ({ skippedRuns: context.skippedRuns + 1, due: null })),
    recordCreated: assign(({ context }) => {
      const scheduledAt = context.due?.scheduledAt ?? '';
      const name = jobNameFor(context.name, scheduledAt);
      const jobs = context.jobs.some((j) => j.name === name) ? context.jobs : [...context.jobs, { name, phase: 'Pending' as const, scheduledAt, completedAt: null }];
      return { lastScheduleTime: scheduledAt, lastBackupName: name, jobs, due: null, error: null, attempts: 0 };
    }),
    forgetJobs: assign(({ context }, params: { names: string[] }) => ({ jobs: context.jobs.filter((j) => !params.names.includes(j.name)), error: null, attempts: 0 })),
    markSuspended: assign({ skipMissed: true, nextScheduleTime: null }),
    storeError: assign(({ context }, params: { error: unknown }) => ({ error: errorText(params.error), attempts: context.attempts + 1 })),
    clearError: assign({ error: null, attempts: 0 }),
  },
}).createMachine({
  id: 'scheduledBackup',
  context: ({ input }) => ({
    ...input, since: null, skipMissed: false, due: null, lastScheduleTime: null, nextScheduleTime: null, lastBackupName: null,
    jobs: [], skippedRuns: 0, missedRuns: 0, error: null, attempts: 0,
  }),
  initial: 'scheduling',
  on: {
    'spec.changed': { actions: { type: 'storeSpec', params: ({ event }) => ({ spec: event.spec, generation: event.generation }) } },
    'resource.deleted': { target: '.deleting' },
  },
  states: {
    scheduling: {
      invoke: {
        id: 'watchJobs', src: 'watchJobs', input: owner,
        onError: { target: 'retrying', actions: { type: 'storeError', params: ({ event }) => ({ error: event.error }) } },
      },
      on: { 'jobs.observed': { actions: { type: 'storeJobs', params: ({ event }) => ({ jobs: event.jobs }) } } },
      initial: 'starting',
      states: {
        starting: {
          always: [
            { guard: 'isSuspended', target: 'suspended' },
            { guard: 'runsImmediately', target: 'checking', actions: 'dueAtCreation', description: 'spec.immediate: the first BackupJob is for the creation time itself.' },
            { target: 'waiting' },
          ],
        },
        waiting: {
          always: [
            { guard: 'isSuspended', target: 'suspended' },
            { guard: 'hasPrunable', target: 'pruning' },
          ],
          invoke: {
            id: 'waitForSchedule', src: 'waitForSchedule',
            description: 'Re-armed from context.since on every entry and after a restore: missed occurrences come back as one schedule.due.',
            input: ({ context }) => ({ schedule: context.spec.schedule, since: context.since ?? context.createdAt, catchUp: !context.skipMissed }),
            onError: { target: '#scheduledBackup.invalid', actions: { type: 'storeError', params: ({ event }) => ({ error: event.error }) } },
          },
          on: {
            'spec.changed': { target: 'waiting', reenter: true, actions: { type: 'storeSpec', params: ({ event }) => ({ spec: event.spec, generation: event.generation }) } },
            'schedule.planned': { actions: { type: 'storePlan', params: ({ event }) => ({ at: event.at, next: event.next }) } },
            'schedule.due': { target: 'checking', actions: { type: 'storeDue', params: ({ event }) => ({ scheduledAt: event.scheduledAt, missed: event.missed, next: event.next }) } },
          },
        },
        checking: {
          description: 'The concurrency decision needs the jobs as the store has them now, not as the last poll saw them.',
          invoke: [{
            id: 'listJobs', src: 'listJobs', input: owner,
            onDone: { target: 'deciding', actions: { type: 'storeJobs', params: ({ event }) => ({ jobs: event.output }) } },
            onError: { target: '#scheduledBackup.retrying', actions: { type: 'storeError', params: ({ event }) => ({ error: event.error }) } },
          }, laterOccurrence],
          on: { 'schedule.due': { guard: 'isLaterOccurrence', target: '#scheduledBackup.scheduling.checking', reenter: true, actions: { type: 'supersede', params: ({ event }) => ({ scheduledAt: event.scheduledAt, missed: event.missed, next: event.next }) } } },
        },
        deciding: {
          always: [
            { guard: 'isSuspended', target: 'suspended' },
            { guard: 'forbidsWhileActive', target: 'waiting', actions: 'recordSkipped', description: 'concurrencyPolicy forbid: this occurrence is skipped, not postponed.' },
            { guard: 'replacesActive', target: 'replacing' },
            { target: 'creating' },
          ],
        },
        replacing: {
          invoke: [{
            id: 'deleteActiveJobs', src: 'deleteBackupJobs',
            input: ({ context }) => ({ owner: owner({ context }), names: activeJobs(context.jobs).map((j) => j.name) }),
            onDone: { target: 'creating', actions: { type: 'forgetJobs', params: ({ context }) => ({ names: activeJobs(context.jobs).map((j) => j.name) }) } },
            onError: { target: '#scheduledBackup.retrying', actions: { type: 'storeError', params: ({ event }) => ({ error: event.error }) } },
          }, laterOccurrence],
          on: { 'schedule.due': { guard: 'isLaterOccurrence', target: '#scheduledBackup.scheduling.checking', reenter: true, actions: { type: 'supersede', params: ({ event }) => ({ scheduledAt: event.scheduledAt, missed: event.missed, next: event.next }) } } },
        },
        creating: {
          invoke: {
            id: 'createBackupJob', src: 'createBackupJob',
            input: ({ context }) => {
              const scheduledAt = context.due?.scheduledAt ?? context.createdAt;
              return {
                owner: owner({ context }), jobName: jobNameFor(context.name, scheduledAt), cluster: context.spec.cluster.name,
                backupType: context.spec.backupType, target: context.spec.target, scheduledAt,
              };
            },
            onDone: { target: 'waiting', actions: 'recordCreated' },
            onError: { target: '#scheduledBackup.retrying', actions: { type: 'storeError', params: ({ event }) => ({ error: event.error }) } },
          },
        },
        pruning: {
          invoke: {
            id: 'pruneJobs', src: 'deleteBackupJobs',
            input: ({ context }) => ({ owner: owner({ context }), names: prunable(context.jobs, context.spec) }),
            onDone: { target: 'waiting', actions: { type: 'forgetJobs', params: ({ context }) => ({ names: prunable(context.jobs, context.spec) }) } },
            onError: { target: '#scheduledBackup.retrying', actions: { type: 'storeError', params: ({ event }) => ({ error: event.error }) } },
          },
        },
        suspended: {
          entry: 'markSuspended',
          always: { guard: 'isResumed', target: 'waiting', description: 'Occurrences missed while suspended are passed over (skipMissed), not caught up.' },
        },
      },
    },
    retrying: {
      description: 'A store error: back off, then start over (a due occurrence is still in context.due and since).',
      invoke: {
        id: 'waitToRetry', src: 'waitToRetry', input: ({ context }) => ({ delayMs: retryDelayMs(context.attempts) }),
        onError: { target: 'invalid', actions: { type: 'storeError', params: ({ event }) => ({ error: event.error }) } },
      },
      on: {
        'retry.due': [
          { guard: 'hasDueRun', target: 'scheduling.checking', description: 'The occurrence that was due when the error came still runs (once).' },
          { target: 'scheduling' },
        ],
      },
    },
    invalid: {
      description: 'The schedule cannot be planned (the cron library refused it): waits for a spec change.',
      on: { 'spec.changed': { target: 'scheduling', actions: [{ type: 'storeSpec', params: ({ event }) => ({ spec: event.spec, generation: event.generation }) }, 'clearError'] } },
    },
    deleting: {
      description: 'Deleting the schedule deletes the BackupJob objects it owns (the backups in the repository stay).',
      initial: 'listing',
      states: {
        listing: {
          invoke: {
            id: 'listOwnedJobs', src: 'listJobs', input: owner,
            onDone: { target: 'removing', actions: { type: 'storeJobs', params: ({ event }) => ({ jobs: event.output }) } },
            onError: { target: 'backingOff', actions: { type: 'storeError', params: ({ event }) => ({ error: event.error }) } },
          },
        },
        removing: {
          invoke: {
            id: 'deleteOwnedJobs', src: 'deleteBackupJobs', input: ({ context }) => ({ owner: owner({ context }), names: context.jobs.map((j) => j.name) }),
            onDone: '#scheduledBackup.deleted',
            onError: { target: 'backingOff', actions: { type: 'storeError', params: ({ event }) => ({ error: event.error }) } },
          },
        },
        backingOff: {
          invoke: {
            id: 'waitToRetryDeletion', src: 'waitToRetry', input: ({ context }) => ({ delayMs: retryDelayMs(context.attempts) }),
            onError: { target: '#scheduledBackup.deleted', actions: { type: 'storeError', params: ({ event }) => ({ error: event.error }) } },
          },
          on: { 'retry.due': 'listing' },
        },
      },
    },
    deleted: { type: 'final' },
  },
});

export type ScheduledBackupMachine = typeof scheduledBackupMachine;
