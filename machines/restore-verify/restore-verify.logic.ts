// Pure decisions of the restore rehearsal machine: when the next one is due, what a step result means.
import { nextRunAfter } from '../../crds/cron-schedule.js';
import type { VerifyResult, VerifyReason } from './restore-verify.types.js';

const REASONS: readonly VerifyReason[] = ['RestoreVerified', 'RestoreFailed', 'ChecksumFailure', 'IndexCorruption', 'FingerprintMismatch', 'NoBackup', 'RehearsalFailed'];

/** The next run strictly after `afterIso`; a schedule that cannot be read never fires (admission refuses those). */
export const nextRun = (schedule: string, afterIso: string): string | null => nextRunAfter(schedule, afterIso);

/** Both times are `toISOString()` output (UTC, milliseconds), so they order as strings. */
export const isDue = (nextRunAt: string | null, now: string): boolean => nextRunAt !== null && now >= nextRunAt;

/** A step result is trusted only in the shape the worker returns; anything else is a failed rehearsal. */
export function asVerifyResult(v: unknown): VerifyResult | null {
  if (!v || typeof v !== 'object') return null;
  const r = v as Partial<VerifyResult>;
  return typeof r.verified === 'boolean' && typeof r.message === 'string' && typeof r.startedAt === 'string' && REASONS.includes(r.reason as VerifyReason)
    ? (v as VerifyResult) : null;
}

export const keepLast = <T>(list: T[], item: T, keep: number): T[] => [...list, item].slice(-Math.max(1, keep));
