// Snapshot → the cluster's status.restoreVerification and its LastRestoreVerified condition. Pure.
import type { SnapshotFrom } from 'xstate';
import type { RestoreVerifyMachine } from './restore-verify.machine.js';
import type { VerifyResult } from './restore-verify.types.js';
import { condition, type ConditionIntent } from '../shared/conditions.js';

export type RestoreVerifySnapshot = SnapshotFrom<RestoreVerifyMachine>;

export const LAST_RESTORE_VERIFIED = 'LastRestoreVerified';

export interface RestoreVerificationStatus {
  phase: 'Waiting' | 'Verifying' | 'TimerStopped';
  nextRunAt?: string;
  progress?: string;
  last?: VerifyResult;
  history: VerifyResult[];
}

export function selectRestoreVerification(s: RestoreVerifySnapshot): RestoreVerificationStatus {
  const c = s.context;
  const last = c.history.at(-1);
  const p = c.progress;
  return {
    phase: s.matches('verifying') ? 'Verifying' : s.matches('timerStopped') ? 'TimerStopped' : 'Waiting',
    ...(c.nextRunAt ? { nextRunAt: c.nextRunAt } : {}),
    ...(s.matches('verifying') && p ? { progress: p.percent === null ? p.detail : `${p.detail} ${p.percent.toFixed(0)}%` } : {}),
    ...(last ? { last } : {}),
    history: c.history,
  };
}

/** The condition from the last rehearsal: Unknown until one has finished. */
export function lastRestoreVerified(last: VerifyResult | undefined): ConditionIntent {
  if (!last) return { type: LAST_RESTORE_VERIFIED, status: 'Unknown', reason: 'NotYetRun', message: 'no restore rehearsal has finished yet' };
  const what = last.backup ? `backup ${last.backup}` : 'the latest backup';
  return condition(LAST_RESTORE_VERIFIED, last.verified, last.reason,
    last.verified ? `${what} restored and verified at ${last.finishedAt ?? last.startedAt}: ${last.message}` : `${what}: ${last.message}`);
}
