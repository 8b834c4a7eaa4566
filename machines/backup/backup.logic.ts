// Pure decisions of the backup machine: reading a step result.
import type { BackupResult } from './backup.types.js';

/** A step result is trusted only in the shape the worker returns; anything else is a failure to report. */
export function asBackupResult(v: unknown): BackupResult | null {
  if (!v || typeof v !== 'object') return null;
  const r = v as Partial<BackupResult>;
  return typeof r.label === 'string' && typeof r.stanza === 'string' && typeof r.sizeBytes === 'number' ? (v as BackupResult) : null;
}
