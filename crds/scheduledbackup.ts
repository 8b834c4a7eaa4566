// ScheduledBackup: creates BackupJobs on a cron schedule (croner: 5 fields, or 6 with seconds first, in UTC).
import { Type, type Static } from '@sinclair/typebox';
import { Cron as CronParser } from 'croner';
import { Strict } from './schema-kit.js';
import { ClusterRef, CommonStatus, Cron } from './common.js';
import type { ResourceDefinition, Resource } from './definition.js';

export const ScheduledBackupSpec = Strict({
  cluster: ClusterRef,
  schedule: Cron,
  suspend: Type.Boolean({ default: false, description: 'No new BackupJobs while true; runs missed while suspended are skipped, not caught up' }),
  immediate: Type.Boolean({ default: false, description: 'Take a first backup as soon as the schedule is created' }),
  backupType: Type.Union([Type.Literal('full'), Type.Literal('diff'), Type.Literal('incr')], { default: 'full' }),
  target: Type.Union([Type.Literal('primary'), Type.Literal('prefer-standby')], { default: 'prefer-standby' }),
  concurrencyPolicy: Type.Union([Type.Literal('forbid'), Type.Literal('replace')], {
    default: 'forbid', description: 'forbid skips a run while a BackupJob of this schedule still runs; replace deletes the running one first',
  }),
  successfulJobsHistoryLimit: Type.Integer({ minimum: 0, maximum: 1000, default: 3, description: 'Succeeded BackupJob objects kept; older ones are deleted (the backups in the repository stay)' }),
  failedJobsHistoryLimit: Type.Integer({ minimum: 0, maximum: 1000, default: 1, description: 'Failed BackupJob objects kept; older ones are deleted' }),
});

export type ScheduledBackupSpec = Static<typeof ScheduledBackupSpec>;

export const ScheduledBackupStatus = Type.Object({
  ...CommonStatus,
  lastScheduleTime: Type.Optional(Type.String({ description: 'The scheduled time of the last BackupJob created' })),
  nextScheduleTime: Type.Optional(Type.String()),
  lastBackupName: Type.Optional(Type.String()),
  lastSuccessfulTime: Type.Optional(Type.String()),
  active: Type.Optional(Type.Array(Type.String(), { description: 'BackupJobs of this schedule still pending or running' })),
  skippedRuns: Type.Optional(Type.Integer({ description: 'Runs skipped by concurrencyPolicy forbid' })),
  missedRuns: Type.Optional(Type.Integer({ description: 'Runs missed while the operator was down, beyond the one catch-up run' })),
});

export type ScheduledBackup = Resource<ScheduledBackupSpec, Static<typeof ScheduledBackupStatus>>;

/** The cron library's own verdict, named by field (the CRD pattern only checks the field count). */
export function scheduleProblems(schedule: string): { field: string; message: string }[] {
  try {
    new CronParser(schedule, { paused: true, timezone: 'UTC' }).stop();
    return [];
  } catch (e) {
    return [{ field: 'spec.schedule', message: `is not a valid cron schedule (${(e as Error).message}); use 5 fields (minute hour day month weekday) or 6 with seconds first, e.g. "0 30 2 * * *"` }];
  }
}

export const scheduledBackupDefinition: ResourceDefinition = {
  kind: 'ScheduledBackup', plural: 'scheduledbackups', singular: 'scheduledbackup', shortNames: ['pgsb'], scope: 'Namespaced', categories: ['pgop', 'all'],
  spec: ScheduledBackupSpec, status: ScheduledBackupStatus,
  localChecks: (spec) => scheduleProblems((spec as ScheduledBackupSpec).schedule),
  printerColumns: [
    { name: 'Cluster', type: 'string', jsonPath: '.spec.cluster.name' },
    { name: 'Schedule', type: 'string', jsonPath: '.spec.schedule' },
    { name: 'Suspended', type: 'boolean', jsonPath: '.spec.suspend' },
    { name: 'Phase', type: 'string', jsonPath: '.status.phase' },
    { name: 'Last Schedule', type: 'date', jsonPath: '.status.lastScheduleTime' },
    { name: 'Next Schedule', type: 'string', jsonPath: '.status.nextScheduleTime' },
    { name: 'Age', type: 'date', jsonPath: '.metadata.creationTimestamp' },
  ],
};
