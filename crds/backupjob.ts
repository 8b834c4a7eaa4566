// BackupJob: one backup (pgBackRest full/diff/incr, from the primary or a standby) or one restore / PITR.
import { Type, type Static } from '@sinclair/typebox';
import { Strict, immutable } from './schema-kit.js';
import { ClusterRef, CommonStatus } from './common.js';
import { Name } from './schema-kit.js';
import type { ResourceDefinition, Resource } from './definition.js';

export const BackupJobSpec = Strict({
  cluster: ClusterRef,
  type: Type.Union([Type.Literal('backup'), Type.Literal('restore')], { default: 'backup' }),
  method: Type.Union([Type.Literal('pgbackrest'), Type.Literal('volumeSnapshot')], { default: 'pgbackrest' }),
  backupType: Type.Union([Type.Literal('full'), Type.Literal('diff'), Type.Literal('incr')], { default: 'full', description: 'pgBackRest backup type' }),
  target: Type.Union([Type.Literal('primary'), Type.Literal('prefer-standby')], { default: 'prefer-standby', description: 'Where the backup is taken' }),
  repository: Type.Optional(Type.String({ minLength: 1, maxLength: 63, description: 'pgBackRest repository (repo1 by default)' })),
  restore: Type.Optional(Strict({
    backupName: Type.Optional(Name({ description: 'BackupJob to restore; the latest backup when absent' })),
    targetTime: Type.Optional(Type.String({ format: 'date-time', description: 'Point in time (RFC 3339)' })),
    targetLSN: Type.Optional(Type.String({ pattern: '^[0-9A-Fa-f]{1,8}/[0-9A-Fa-f]{1,8}$' })),
    targetName: Type.Optional(Type.String({ minLength: 1, maxLength: 63, description: 'A restore point created with pg_create_restore_point' })),
    into: Strict({ cluster: Name({ description: 'New PostgresCluster the restore creates' }) }),
  }, {
    rules: [{ rule: '[has(self.targetTime), has(self.targetLSN), has(self.targetName)].filter(x, x).size() <= 1', message: 'set at most one of targetTime, targetLSN, targetName' }],
  })),
}, {
  rules: [
    immutable('spec'),
    { rule: "self.type != 'restore' || has(self.restore)", message: 'a restore needs spec.restore (at least restore.into.cluster)', fieldPath: '.restore' },
    { rule: "self.type != 'backup' || !has(self.restore)", message: 'spec.restore only applies to type: restore', fieldPath: '.restore' },
  ],
});

/** Rows per user table right after the backup, at a recorded WAL position: what a restore rehearsal must find. */
export const TableFingerprint = Type.Object({
  lsn: Type.String({ description: 'WAL position of the restore point (older fingerprints: of the snapshot) the rows were counted at' }),
  restorePoint: Type.Optional(Type.String({ description: 'Named restore point the counts are exact at; rehearsals replay exactly to it' })),
  takenAt: Type.String(),
  tables: Type.Array(Type.Object({ database: Type.String(), schema: Type.String(), table: Type.String(), rows: Type.Integer() }), { maxItems: 500 }),
  tablesTotal: Type.Integer({ description: 'User tables found; only the first 500 by name are recorded' }),
});

export const BackupJobStatus = Type.Object({
  ...CommonStatus,
  startedAt: Type.Optional(Type.String()),
  completedAt: Type.Optional(Type.String()),
  backupId: Type.Optional(Type.String({ description: 'pgBackRest backup label' })),
  instance: Type.Optional(Type.String({ description: 'Instance the backup was taken from' })),
  repository: Type.Optional(Type.String({ description: 'Repository, without secrets (posix:/path or s3://bucket/path)' })),
  stanza: Type.Optional(Type.String()),
  sizeBytes: Type.Optional(Type.Integer()),
  repositorySizeBytes: Type.Optional(Type.Integer({ description: 'Bytes stored in the repository (compressed, deduplicated)' })),
  size: Type.Optional(Type.String({ description: 'sizeBytes for people' })),
  startLsn: Type.Optional(Type.String()),
  stopLsn: Type.Optional(Type.String()),
  walStart: Type.Optional(Type.String()),
  walEnd: Type.Optional(Type.String()),
  timeline: Type.Optional(Type.Integer()),
  durationSeconds: Type.Optional(Type.Integer()),
  duration: Type.Optional(Type.String()),
  expired: Type.Optional(Type.Array(Type.String(), { description: 'Backups retention removed right after this one' })),
  progress: Type.Optional(Type.String()),
  percent: Type.Optional(Type.Number()),
  bytesDone: Type.Optional(Type.Integer()),
  bytesTotal: Type.Optional(Type.Integer()),
  fingerprint: Type.Optional(TableFingerprint),
  fingerprintError: Type.Optional(Type.String({ description: 'Why no table fingerprint was recorded; the backup itself succeeded, and restore rehearsals use the newest backup that has one' })),
});

export type BackupJobSpec = Static<typeof BackupJobSpec>;
export type TableFingerprint = Static<typeof TableFingerprint>;
export type BackupJob = Resource<BackupJobSpec, Static<typeof BackupJobStatus>>;

export const backupJobDefinition: ResourceDefinition = {
  kind: 'BackupJob', plural: 'backupjobs', singular: 'backupjob', shortNames: ['pgbackup'], scope: 'Namespaced', categories: ['pgop', 'all'],
  spec: BackupJobSpec, status: BackupJobStatus,
  printerColumns: [
    { name: 'Cluster', type: 'string', jsonPath: '.spec.cluster.name' },
    { name: 'Type', type: 'string', jsonPath: '.spec.backupType' },
    { name: 'Phase', type: 'string', jsonPath: '.status.phase' },
    { name: 'Size', type: 'string', jsonPath: '.status.size' },
    { name: 'Started', type: 'date', jsonPath: '.status.startedAt' },
    { name: 'Duration', type: 'string', jsonPath: '.status.duration' },
  ],
};
