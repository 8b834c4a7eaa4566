// The backup machine's queued step and its policy, as data: the runtime's queued-step actor and the worker read
// these numbers instead of each hard-coding its own.
export interface StepPolicy {
  /** Attempts before a transient error is final (PermanentError ends at once). */
  attempts: number;
  /** First retry delay; doubles each attempt. */
  backoffMs: number;
  /** The worker gives up on one attempt after this long. */
  timeoutMs: number;
}

export const BACKUP_STEPS = {
  /** pgbackrest backup (+ expire) of one cluster, followed to the end with progress. */
  runBackup: { attempts: 3, backoffMs: 5000, timeoutMs: 6 * 3600_000 },
} as const satisfies Record<string, StepPolicy>;

export type BackupStepName = keyof typeof BACKUP_STEPS;
