// ScheduledBackup: creates BackupJobs on a cron schedule.
import { Type, type Static } from '@sinclair/typebox';
import { Strict } from './schema-kit.js';
import { ClusterRef, CommonStatus, Cron } from './common.js';
import type { ResourceDefinition, Resource } from './definition.js';

export const ScheduledBackupSpec = Strict({
  cluster: ClusterRef,
  schedule: Cron,
  suspend: Type.Boolean({ default: false }),
  immediate: Type.Boolean({ default: false, description: 'Take a first backup as soon as the schedule is created' }),
  backupType: Type.Union([Type.Literal('full'), Type.Literal('diff'), Type.Literal('incr')], { default: 'full' }),
  target: Type.Union([Type.Literal('primary'), Type.Literal('prefer-standby')], { default: 'prefer-standby' }),
  concurrencyPolicy: Type.Union([Type.Literal('Forbid'), Type.Literal('Allow')], { default: 'Forbid', description: 'Forbid skips a run while the previous backup still runs' }),
  backupOwnerReference: Type.Union([Type.Literal('none'), Type.Literal('self'), Type.Literal('cluster')], { default: 'self', description: 'Who owns (and garbage-collects) the BackupJobs' }),
  keepLast: Type.Integer({ minimum: 1, maximum: 1000, default: 30, description: 'BackupJob objects kept; older ones are deleted' }),
});

export const ScheduledBackupStatus = Type.Object({
  ...CommonStatus,
  lastScheduleTime: Type.Optional(Type.String()),
  nextScheduleTime: Type.Optional(Type.String()),
  lastBackupName: Type.Optional(Type.String()),
});

export type ScheduledBackup = Resource<Static<typeof ScheduledBackupSpec>, Static<typeof ScheduledBackupStatus>>;

export const scheduledBackupDefinition: ResourceDefinition = {
  kind: 'ScheduledBackup', plural: 'scheduledbackups', singular: 'scheduledbackup', shortNames: ['pgsb'], scope: 'Namespaced', categories: ['pgop', 'all'],
  spec: ScheduledBackupSpec, status: ScheduledBackupStatus,
  printerColumns: [
    { name: 'Cluster', type: 'string', jsonPath: '.spec.cluster.name' },
    { name: 'Schedule', type: 'string', jsonPath: '.spec.schedule' },
    { name: 'Suspended', type: 'boolean', jsonPath: '.spec.suspend' },
    { name: 'Last Backup', type: 'date', jsonPath: '.status.lastScheduleTime' },
    { name: 'Age', type: 'date', jsonPath: '.metadata.creationTimestamp' },
  ],
};
