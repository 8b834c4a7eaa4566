// One BullMQ queue for the long-running steps of every machine; the job name is the step. Each step kind's policy
// (attempts, backoff, timeout) is data here, so adding a queued step is one entry.
export const STEPS_QUEUE = 'pgop-steps';

export interface StepPolicy {
  /** Attempts before a transient error becomes final; a PermanentError (UnrecoverableError) fails at once. */
  attempts: number;
  backoff: { type: 'exponential' | 'fixed'; delayMs: number };
  /** The worker aborts an attempt that runs longer (the attempt then fails and may be retried). */
  timeoutMs: number;
  /** How long a finished job is kept, so a machine restored later still finds its outcome. */
  keepCompletedS: number;
  keepFailedS: number;
}

export const STEP_KINDS = {
  cloneInstance: {
    attempts: 5, backoff: { type: 'exponential', delayMs: 2000 }, timeoutMs: 6 * 3600_000,
    keepCompletedS: 24 * 3600, keepFailedS: 7 * 24 * 3600,
  },
  /** pgbackrest backup (+ expire) of one cluster, followed to the end with progress. */
  runBackup: {
    attempts: 3, backoff: { type: 'exponential', delayMs: 5000 }, timeoutMs: 6 * 3600_000,
    keepCompletedS: 7 * 24 * 3600, keepFailedS: 7 * 24 * 3600,
  },
  /** A restore rehearsal: the latest backup restored into a throwaway instance, checked, removed. */
  verifyRestore: {
    attempts: 2, backoff: { type: 'exponential', delayMs: 10_000 }, timeoutMs: 6 * 3600_000,
    keepCompletedS: 7 * 24 * 3600, keepFailedS: 7 * 24 * 3600,
  },
} as const satisfies Record<string, StepPolicy>;

export type StepName = keyof typeof STEP_KINDS;

/** The object a step works for, as it was when the step was decided. */
export interface StepOwner { kind: string; uid: string; generation: number }

/**
 * Deterministic job ids: `${kind}-${uid}-${generation}-${step}[-${subject}]`. A restored machine asks for the same
 * job instead of starting a second one; a deleted and recreated object of the same name has a new uid, so it never
 * adopts the old object's job. BullMQ refuses ':' in custom ids, so every part is cleaned to [A-Za-z0-9._-].
 */
export function stepJobId(owner: StepOwner, step: StepName, subject?: string): string {
  if (!owner.uid) throw new Error(`a ${step} job needs the owning ${owner.kind}'s uid`);
  return [owner.kind, owner.uid, String(owner.generation), step, ...(subject ? [subject] : [])]
    .map((p) => p.replace(/[^A-Za-z0-9._-]/g, '_')).join('-');
}

/** The prefix of every job id of one object (any generation), to remove its jobs when it is deleted. */
export function jobIdPrefix(kind: string, uid: string): string {
  return `${kind}-${uid}-`.replace(/[^A-Za-z0-9._-]/g, '_');
}

export interface StepProgress { percent: number | null; detail: string }
