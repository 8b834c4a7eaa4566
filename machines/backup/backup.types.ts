// Context, input and events of the backup machine. Context is persisted JSON.
import type { TableFingerprint } from '../../crds/backupjob.js';

export type BackupType = 'full' | 'diff' | 'incr';
export type BackupTarget = 'prefer-standby' | 'primary';

/** What a finished backup is, as pgBackRest's `info` reports it. */
export interface BackupResult {
  label: string;
  type: BackupType;
  /** The instance whose files were copied (a standby with prefer-standby when one was ready). */
  instance: string;
  stanza: string;
  /** The repository, described without secrets (`posix:/path` or `s3://bucket/path`). */
  repository: string;
  startedAt: string;
  stoppedAt: string;
  /** Whole seconds from start to stop, computed by the worker (machines read no clocks). */
  durationSeconds: number;
  startLsn: string;
  stopLsn: string;
  walStart: string;
  walEnd: string;
  timeline: number;
  sizeBytes: number;
  repositorySizeBytes: number;
  /** Backups removed by retention right after this one. */
  expired: string[];
  /** Rows per user table at a WAL position after the backup (absent in results of older operators). */
  fingerprint?: TableFingerprint;
  /** Why no fingerprint was recorded (the backup itself is good; rehearsals fall back to an older fingerprinted one). */
  fingerprintError?: string;
  /** Why the backup ran elsewhere than asked (prefer-standby fell back to the primary); absent otherwise and in older results. */
  note?: string;
}

export interface BackupProgress {
  percent: number | null;
  detail: string;
  bytesDone?: number;
  bytesTotal?: number;
  /** Stamped by the worker when the backup itself began (machines read no clocks). */
  startedAt?: string;
  /** The backup is in the repository (and retention applied): the step goes on to record the table fingerprint. */
  saved?: BackupResult;
}

export interface BackupRequest {
  namespace: string;
  name: string;
  /** Distinguishes a re-created BackupJob of the same name: a new job, a new queued step. */
  uid: string;
  cluster: string;
  backupType: BackupType;
  target: BackupTarget;
  /** `backup` or `restore`; restores are a new cluster (spec.bootstrap.recovery), so a restore job is refused. */
  kind: 'backup' | 'restore';
  /** When the BackupJob was created: a retried step looks for a backup of its own from then on. */
  createdAt: string;
}

export interface BackupInput extends BackupRequest { generation: number }

export interface BackupContext extends BackupInput {
  progress: BackupProgress | null;
  result: BackupResult | null;
  error: string | null;
}

export type BackupEvent =
  | { type: 'backupjob.deleted' }
  | { type: 'step.progress'; progress: BackupProgress }
  | { type: 'step.succeeded'; result: unknown }
  | { type: 'step.failed'; error: string; permanent: boolean };
