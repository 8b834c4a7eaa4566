// Snapshot → BackupJob status. Pure: the runtime writes it through the one status door.
import type { SnapshotFrom } from 'xstate';
import type { BackupMachine } from './backup.machine.js';
import { condition, type ConditionIntent } from '../shared/conditions.js';

/** Unknown while a saved backup's fingerprint is being recorded: restore rehearsals wait on it (running-backups.ts). */
export const FINGERPRINTED = 'Fingerprinted';

export type BackupSnapshot = SnapshotFrom<BackupMachine>;
export type BackupPhase = 'Pending' | 'Running' | 'Succeeded' | 'Failed' | 'Deleting';

export function selectBackupPhase(s: BackupSnapshot): BackupPhase {
  if (s.matches('deleted')) return 'Deleting';
  if (s.matches('succeeded') || s.matches({ working: 'saved' })) return 'Succeeded';
  if (s.matches('failed')) return 'Failed';
  if (s.matches({ working: 'running' })) return 'Running';
  return 'Pending';
}

const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
export function humanBytes(n: number): string {
  let v = n;
  let i = 0;
  while (v >= 1024 && i < units.length - 1) { v /= 1024; i++; }
  return `${i === 0 ? v : v.toFixed(1)} ${units[i]}`;
}

export function humanDuration(seconds: number): string {
  const h = Math.floor(seconds / 3600);
  const m = Math.floor((seconds % 3600) / 60);
  const s = seconds % 60;
  return h ? `${h}h${m}m` : m ? `${m}m${s}s` : `${s}s`;
}

export interface BackupStatusIntent {
  phase: BackupPhase;
  message?: string;
  conditions: ConditionIntent[];
  observedGeneration: number;
  [field: string]: unknown;
}

export function selectBackupStatus(s: BackupSnapshot): BackupStatusIntent {
  const c = s.context;
  const phase = selectBackupPhase(s);
  const r = c.result;
  const p = c.progress;
  const duration = r ? r.durationSeconds : null;
  const out: BackupStatusIntent = {
    phase,
    observedGeneration: c.generation,
    conditions: [
      condition('Completed', phase === 'Succeeded' || phase === 'Failed', phase === 'Failed' ? 'BackupFailed' : phase === 'Succeeded' ? 'BackupSucceeded' : 'InProgress',
        phase === 'Failed' ? c.error ?? 'failed' : phase === 'Succeeded' ? `backup ${r?.label ?? ''} taken` : 'backup not finished'),
    ],
  };
  if (c.error && phase === 'Failed') out.message = c.error;
  if (r) {
    Object.assign(out, {
      backupId: r.label, instance: r.instance, repository: r.repository, stanza: r.stanza,
      startedAt: r.startedAt, completedAt: r.stoppedAt, startLsn: r.startLsn, stopLsn: r.stopLsn,
      walStart: r.walStart, walEnd: r.walEnd, timeline: r.timeline, sizeBytes: r.sizeBytes,
      repositorySizeBytes: r.repositorySizeBytes, size: humanBytes(r.sizeBytes), expired: r.expired,
      ...(duration !== null ? { durationSeconds: duration, duration: humanDuration(duration) } : {}),
      percent: 100,
      ...(r.fingerprint ? { fingerprint: r.fingerprint } : {}),
      ...(r.fingerprintError ? { fingerprintError: r.fingerprintError } : {}),
    });
    const recording = s.matches({ working: 'saved' }) ? 'recording the table fingerprint for restore rehearsals' : undefined;
    // Restore rehearsals wait while it is Unknown: a rehearsal of this backup compares against its fingerprint.
    out.conditions.push(recording ? { type: FINGERPRINTED, status: 'Unknown', reason: 'Recording', message: recording }
      : r.fingerprint ? condition(FINGERPRINTED, true, 'Recorded', `rows of ${r.fingerprint.tables.length} table(s) at ${r.fingerprint.lsn}`)
        : condition(FINGERPRINTED, false, r.fingerprintError ? 'NotRecorded' : 'NotTaken', r.fingerprintError ?? 'no fingerprint was taken with this backup'));
    const message = [r.note, recording, r.fingerprintError].filter(Boolean).join('; ');
    if (message) out.message = message;
  } else if (p) {
    Object.assign(out, {
      progress: p.percent === null ? p.detail : `${p.detail} ${p.percent.toFixed(0)}%`,
      ...(p.percent !== null ? { percent: p.percent } : {}),
      ...(p.bytesDone !== undefined ? { bytesDone: p.bytesDone } : {}),
      ...(p.bytesTotal !== undefined ? { bytesTotal: p.bytesTotal } : {}),
      ...(p.startedAt ? { startedAt: p.startedAt } : {}),
    });
  }
  return out;
}
