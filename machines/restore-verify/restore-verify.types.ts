// Context, input and events of the restore rehearsal machine. Context is persisted JSON.

export type VerifyReason = 'RestoreVerified' | 'RestoreFailed' | 'ChecksumFailure' | 'IndexCorruption' | 'FingerprintMismatch' | 'NoBackup' | 'RehearsalFailed';

/** One rehearsal as the worker reports it (or as the machine records a step that could not run). */
export interface VerifyResult {
  verified: boolean;
  reason: VerifyReason;
  message: string;
  /** Backup label restored (absent when none could be chosen). */
  backup?: string;
  startedAt: string;
  finishedAt?: string;
  durationSeconds?: number;
  /** Tables whose row counts were compared with the backup's fingerprint (0: none recorded). */
  tablesCompared?: number;
}

export interface VerifyProgress { percent: number | null; detail: string }

export interface VerifyRequest {
  namespace: string;
  /** The cluster whose latest backup is rehearsed. */
  cluster: string;
  uid: string;
  /** Sequence number of this rehearsal: part of the queued job's id, so a restored machine finds its job. */
  run: number;
  /** When the rehearsal was decided (the tick's time); machines read no clocks. */
  startedAt: string;
}

export interface VerifyInput {
  namespace: string;
  name: string;
  uid: string;
  schedule: string;
  keep: number;
}

export interface VerifyContext extends VerifyInput {
  /** The next time the schedule fires; null until the first tick arms it. */
  nextRunAt: string | null;
  runs: number;
  /** startedAt of the rehearsal in progress. */
  runningSince: string | null;
  progress: VerifyProgress | null;
  /** The last `keep` rehearsals, newest last. */
  history: VerifyResult[];
}

export type VerifyEvent =
  | { type: 'clock.ticked'; now: string }
  | { type: 'spec.changed'; schedule: string; keep: number }
  | { type: 'step.progress'; progress: VerifyProgress }
  | { type: 'step.succeeded'; result: unknown }
  | { type: 'step.failed'; error: string; permanent: boolean };
