// Context, input and events of the scheduledBackup machine. Context is persisted JSON; every time in it came in
// through an event or the input (the machine reads no clock).
import type { BackupTarget, BackupType } from '../backup/backup.types.js';

export interface ScheduleSpec {
  cluster: { name: string };
  schedule: string;
  suspend: boolean;
  immediate: boolean;
  backupType: BackupType;
  target: BackupTarget;
  concurrencyPolicy: 'forbid' | 'replace';
  successfulJobsHistoryLimit: number;
  failedJobsHistoryLimit: number;
}

export type JobPhase = 'Pending' | 'Running' | 'Succeeded' | 'Failed' | 'Deleting';

/** One BackupJob this schedule created, as the store shows it. */
export interface JobRecord {
  name: string;
  phase: JobPhase;
  /** The occurrence it was created for (ISO). */
  scheduledAt: string;
  completedAt: string | null;
}

export interface ScheduleOwner { namespace: string; name: string; uid: string }

export interface ScheduledBackupInput extends ScheduleOwner {
  generation: number;
  /** The object's creationTimestamp: the first occurrence counted from, and the time of an `immediate` run. */
  createdAt: string;
  spec: ScheduleSpec;
}

export interface ScheduledBackupContext extends ScheduledBackupInput {
  /** Every occurrence up to this time is handled (run, skipped or passed over); null before the first plan. */
  since: string | null;
  /** True once a suspension ended: the next plan passes over what was missed instead of catching up. */
  skipMissed: boolean;
  due: { scheduledAt: string; missed: number } | null;
  lastScheduleTime: string | null;
  nextScheduleTime: string | null;
  lastBackupName: string | null;
  jobs: JobRecord[];
  skippedRuns: number;
  missedRuns: number;
  error: string | null;
  attempts: number;
}

/** What the timer needs: it computes occurrences with a cron library and the adapter's clock. */
export interface TimerInput { schedule: string; since: string; catchUp: boolean }

export interface CreateJobInput {
  owner: ScheduleOwner;
  jobName: string;
  cluster: string;
  backupType: BackupType;
  target: BackupTarget;
  scheduledAt: string;
}

export interface DeleteJobsInput { owner: ScheduleOwner; names: string[] }

export type ScheduledBackupEvent =
  | { type: 'spec.changed'; spec: ScheduleSpec; generation: number }
  | { type: 'resource.deleted' }
  /** From the timer: nothing is due before `next`; `at` is the timer's now (everything up to it is handled). */
  | { type: 'schedule.planned'; at: string; next: string | null }
  /** From the timer: the occurrence `scheduledAt` is due; `missed` earlier ones were passed over (operator outage). */
  | { type: 'schedule.due'; scheduledAt: string; missed: number; next: string | null }
  /** From the job watcher: the BackupJobs this schedule owns, when they change. */
  | { type: 'jobs.observed'; jobs: JobRecord[] }
  | { type: 'retry.due' };
