// Fills the backup machine's one slot: the queued runBackup step (its policy is data in actors/queues/queue-names.ts),
// under a job id that is the same for the same BackupJob: a BackupJob runs once, so its uid names the job.
import type { backupMachine } from '../../machines/backup/backup.machine.js';
import type { BackupRequest } from '../../machines/backup/backup.types.js';
import { fromQueuedStep, type QueuedStepDeps } from '../../actors/queues/from-queued-step.js';
import { stepJobId } from '../../actors/queues/queue-names.js';

export interface BackupDeps { steps: QueuedStepDeps }

export function createBackupImplementations(deps: BackupDeps) {
  return {
    actors: {
      runBackup: fromQueuedStep<BackupRequest>('runBackup', deps.steps,
        (r) => stepJobId({ kind: 'BackupJob', uid: r.uid, generation: 1 }, 'runBackup')),
    },
  } satisfies Parameters<typeof backupMachine.provide>[0];
}
