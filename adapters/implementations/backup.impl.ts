// Fills the backup machine's one slot: the queued runBackup step, with its policy (attempts, backoff) from
// machines/backup/backup.steps.ts, under a job id that is the same for the same BackupJob (namespace, name, uid).
import type { backupMachine } from '../../machines/backup/backup.machine.js';
import type { BackupRequest } from '../../machines/backup/backup.types.js';
import { BACKUP_STEPS } from '../../machines/backup/backup.steps.js';
import { fromQueuedStep, type QueuedStepDeps } from '../../actors/queues/from-queued-step.js';
import { stepJobId } from '../../actors/queues/queue-names.js';

export interface BackupDeps { steps: QueuedStepDeps }

export function createBackupImplementations(deps: BackupDeps) {
  const policy = BACKUP_STEPS.runBackup;
  return {
    actors: {
      runBackup: fromQueuedStep<BackupRequest>('runBackup', { ...deps.steps, attempts: policy.attempts, backoffMs: policy.backoffMs },
        (r) => stepJobId('runBackup', r.namespace, r.name, r.uid)),
    },
  } satisfies Parameters<typeof backupMachine.provide>[0];
}
