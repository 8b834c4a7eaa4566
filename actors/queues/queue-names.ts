// One BullMQ queue for the long-running steps of every machine; the job name is the step.
export const STEPS_QUEUE = 'pgop-steps';

export type StepName = 'cloneInstance' | 'runBackup';

/** Deterministic job ids: a restored machine asks for the same job instead of starting a second one. BullMQ
 * refuses ':' in custom ids, so parts are joined with '-' and cleaned. */
export function stepJobId(step: StepName, ...parts: string[]): string {
  return [step, ...parts].map((p) => p.replace(/[^A-Za-z0-9._-]/g, '_')).join('-');
}

export interface StepProgress { percent: number | null; detail: string }
