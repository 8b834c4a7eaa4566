// Snapshot → ScheduledBackup status (the runtime adds the machine envelope). Pure.
import type { SnapshotFrom } from 'xstate';
import type { ScheduledBackupMachine } from './scheduled-backup.machine.js';
import { condition, type ConditionIntent } from '../shared/conditions.js';
import { activeJobs, lastSuccess } from './scheduled-backup.logic.js';

export type ScheduledBackupSnapshot = SnapshotFrom<ScheduledBackupMachine>;
export type SchedulePhase = 'Active' | 'Suspended' | 'Retrying' | 'Failed' | 'Deleting';

export interface ScheduledBackupStatusIntent {
  phase: SchedulePhase;
  message?: string;
  observedGeneration: number;
  conditions: ConditionIntent[];
  active: string[];
  skippedRuns: number;
  missedRuns: number;
  lastScheduleTime?: string;
  nextScheduleTime?: string;
  lastBackupName?: string;
  lastSuccessfulTime?: string;
}

export function selectSchedulePhase(s: ScheduledBackupSnapshot): SchedulePhase {
  if (s.matches('deleting') || s.matches('deleted')) return 'Deleting';
  if (s.matches('invalid')) return 'Failed';
  if (s.matches('retrying')) return 'Retrying';
  if (s.matches({ scheduling: 'suspended' })) return 'Suspended';
  return 'Active';
}

export function selectScheduledBackupStatus(s: ScheduledBackupSnapshot): ScheduledBackupStatusIntent {
  const c = s.context;
  const phase = selectSchedulePhase(s);
  const message = phase === 'Failed' || phase === 'Retrying' ? c.error ?? 'error'
    : phase === 'Suspended' ? 'suspended: no new BackupJobs'
      : phase === 'Deleting' ? 'deleting the BackupJobs of this schedule'
        : c.nextScheduleTime ? `next backup at ${c.nextScheduleTime}` : 'planning the next backup';
  const success = lastSuccess(c.jobs);
  return {
    phase, message, observedGeneration: c.generation,
    conditions: [condition('Ready', phase === 'Active' || phase === 'Suspended', phase === 'Failed' ? 'InvalidSchedule' : phase, message)],
    active: activeJobs(c.jobs).map((j) => j.name),
    skippedRuns: c.skippedRuns, missedRuns: c.missedRuns,
    ...(c.lastScheduleTime ? { lastScheduleTime: c.lastScheduleTime } : {}),
    ...(c.nextScheduleTime && phase === 'Active' ? { nextScheduleTime: c.nextScheduleTime } : {}),
    ...(c.lastBackupName ? { lastBackupName: c.lastBackupName } : {}),
    ...(success ? { lastSuccessfulTime: success } : {}),
  };
}
