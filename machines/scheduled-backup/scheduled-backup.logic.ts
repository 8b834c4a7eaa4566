// Pure decisions of the scheduledBackup machine: job names, which jobs are active, which ones history drops.
import type { JobRecord, ScheduleSpec } from './scheduled-backup.types.js';

const NAME_MAX = 63;

/** `<schedule>-<yyyymmddhhmmss>` of the occurrence: the same occurrence always names the same BackupJob. */
export function jobNameFor(scheduleName: string, scheduledAt: string): string {
  const stamp = scheduledAt.replace(/\.\d+/, '').replace(/[^0-9]/g, '').slice(0, 14);
  const base = scheduleName.slice(0, NAME_MAX - stamp.length - 1).replace(/-+$/, '');
  return `${base}-${stamp}`;
}

export const isActive = (j: JobRecord) => j.phase === 'Pending' || j.phase === 'Running';
export const activeJobs = (jobs: JobRecord[]) => jobs.filter(isActive);

/** Finished jobs beyond the history limits, oldest first (jobs already being deleted are left alone). */
export function prunable(jobs: JobRecord[], spec: Pick<ScheduleSpec, 'successfulJobsHistoryLimit' | 'failedJobsHistoryLimit'>): string[] {
  const drop = (phase: JobRecord['phase'], keep: number) => {
    const done = jobs.filter((j) => j.phase === phase).sort((a, b) => a.scheduledAt.localeCompare(b.scheduledAt) || a.name.localeCompare(b.name));
    return done.slice(0, Math.max(0, done.length - keep)).map((j) => j.name);
  };
  return [...drop('Succeeded', spec.successfulJobsHistoryLimit), ...drop('Failed', spec.failedJobsHistoryLimit)];
}

/** The latest completion among succeeded jobs (ISO strings compare in time order). */
export function lastSuccess(jobs: JobRecord[]): string | null {
  return jobs.filter((j) => j.phase === 'Succeeded' && j.completedAt).map((j) => j.completedAt as string).sort().at(-1) ?? null;
}
