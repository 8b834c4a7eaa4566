// One BackupJob: pending (queued) → running (the worker reports progress) → saved → succeeded | failed. Saved: the
// backup is in the repository, so the job is Succeeded while the same step records the table fingerprint for
// restore rehearsals; a fingerprint that cannot be taken is recorded as such and never fails a good backup. The backup is a
// BullMQ step with a deterministic id (namespace, name, uid), so a restored machine re-attaches to the same job;
// the worker retries transient errors (its policy is data in actors/queues/queue-names.ts) and ends permanent ones at once. A restore job is
// refused: a restore is a new cluster (spec.bootstrap.recovery).
import { setup, assign } from 'xstate';
import { notProvidedCallback } from '../shared/placeholder.js';
import type { BackupContext, BackupEvent, BackupInput, BackupRequest } from './backup.types.js';
import { asBackupResult } from './backup.logic.js';

const request = ({ context }: { context: BackupContext }): BackupRequest => ({
  namespace: context.namespace, name: context.name, uid: context.uid, cluster: context.cluster,
  backupType: context.backupType, target: context.target, kind: context.kind, createdAt: context.createdAt,
});

export const backupMachine = setup({
  types: {
    context: {} as BackupContext,
    events: {} as BackupEvent,
    input: {} as BackupInput,
  },
  actors: {
    /** Queued step: pgbackrest backup of the cluster, then expire; reports step.progress / succeeded / failed. */
    runBackup: notProvidedCallback<BackupRequest>('runBackup'),
  },
  actions: {
    storeProgress: assign({ progress: ({ event }) => (event.type === 'step.progress' ? event.progress : null) }),
    storeSaved: assign({ result: ({ event }) => (event.type === 'step.progress' ? asBackupResult(event.progress.saved) : null) }),
    storeFingerprintError: assign({
      result: ({ context }, params: { error: unknown }) => (context.result
        ? { ...context.result, fingerprintError: `the table fingerprint was not recorded: ${params.error instanceof Error ? params.error.message : String(params.error)}` } : null),
    }),
    storeResult: assign({ result: ({ event }) => (event.type === 'step.succeeded' ? asBackupResult(event.result) : null) }),
    storeStepError: assign({ error: ({ event }) => (event.type === 'step.failed' ? event.error : null) }),
    storeError: assign({ error: (_, params: { error: unknown }) => (params.error instanceof Error ? params.error.message : String(params.error)) }),
  },
  guards: {
    isRestore: ({ context }) => context.kind === 'restore',
    hasResult: ({ event }) => event.type === 'step.succeeded' && asBackupResult(event.result) !== null,
    isSavedAlready: ({ context }) => context.result !== null,
    isSaved: ({ event }) => event.type === 'step.progress' && asBackupResult(event.progress.saved) !== null,
  },
}).createMachine({
  id: 'backup',
  context: ({ input }) => ({ ...input, progress: null, result: null, error: null }),
  initial: 'checking',
  on: {
    'backupjob.deleted': { target: '.deleted', description: 'The object is being deleted: the final state lets the runtime remove its finalizer. A running pgBackRest backup is not interrupted; it finishes or fails in the worker.' },
  },
  states: {
    checking: {
      always: [
        { guard: 'isRestore', target: 'failed', actions: assign({ error: 'a restore is a new cluster: create a PostgresCluster with spec.bootstrap.recovery instead of a restore BackupJob' }) },
        { target: 'working' },
      ],
    },
    working: {
      description: 'Long-running, so a BullMQ job with a deterministic id: after an operator restart the machine re-attaches to it.',
      invoke: {
        id: 'runBackup', src: 'runBackup', input: request,
        onError: [
          { guard: 'isSavedAlready', target: 'succeeded', actions: { type: 'storeFingerprintError', params: ({ event }) => ({ error: event.error }) } },
          { target: 'failed', actions: { type: 'storeError', params: ({ event }) => ({ error: event.error }) } },
        ],
      },
      initial: 'pending',
      states: {
        pending: { on: { 'step.progress': [{ guard: 'isSaved', target: 'saved', actions: 'storeSaved' }, { target: 'running', actions: 'storeProgress' }] } },
        running: { on: { 'step.progress': [{ guard: 'isSaved', target: 'saved', actions: 'storeSaved' }, { actions: 'storeProgress' }] } },
        saved: {
          description: 'The backup is in the repository (phase Succeeded); the step goes on to record the table fingerprint.',
          on: {
            'step.succeeded': [
              { guard: 'hasResult', target: '#backup.succeeded', actions: 'storeResult' },
              { target: '#backup.succeeded', actions: { type: 'storeFingerprintError', params: { error: 'the step returned no result' } } },
            ],
            'step.failed': { target: '#backup.succeeded', actions: { type: 'storeFingerprintError', params: ({ event }) => ({ error: event.error }) }, description: 'The backup stays good: only its fingerprint is missing, and the status says why.' },
          },
        },
      },
      on: {
        'step.succeeded': [
          { guard: 'hasResult', target: 'succeeded', actions: 'storeResult' },
          { target: 'failed', actions: assign({ error: 'the backup step returned no backup' }) },
        ],
        'step.failed': { target: 'failed', actions: 'storeStepError' },
      },
    },
    // Not final: a final snapshot releases the actor, and the object still needs its finalizer removed on deletion.
    succeeded: {},
    failed: {},
    deleted: { type: 'final' },
  },
});

export type BackupMachine = typeof backupMachine;
