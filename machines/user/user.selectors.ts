// Snapshot → PostgresUser status (no machine envelope; the runtime adds it). Pure.
import type { SnapshotFrom } from 'xstate';
import type { UserMachine } from './user.machine.js';
import { condition, type ConditionIntent } from '../shared/conditions.js';
import { isRechecking, selectSqlObjectPhase, type SqlObjectPhase } from '../shared/sql-object-phase.js';

export type UserSnapshot = SnapshotFrom<UserMachine>;

export interface UserStatusIntent {
  phase: SqlObjectPhase;
  phaseReason: string;
  applied: boolean;
  conditions: ConditionIntent[];
  observedGeneration: number;
  passwordSecret?: string;
  passwordSecretVersion?: string;
  lastRotation?: string;
  lastError?: string;
  appliedOn?: string;
}

export function selectUserPhase(s: UserSnapshot): SqlObjectPhase {
  return selectSqlObjectPhase(s);
}

export function selectUserStatus(s: UserSnapshot): UserStatusIntent {
  const c = s.context;
  const phase = selectUserPhase(s);
  const applied = phase === 'Applied' && c.appliedGeneration === c.generation;
  const reason = s.matches('waitingForCluster') || s.matches({ deleting: 'waiting' })
    ? `waiting for the cluster: ${c.waitingReason ?? 'not ready'}`
    : phase === 'Pending' ? 'finding the cluster\'s primary'
      : phase === 'Applied' ? `role ${JSON.stringify(c.spec.name)} as declared on ${c.appliedOn ?? '?'}${isRechecking(s) ? ' (re-checking)' : ''}`
        : phase === 'Retrying' || phase === 'Failed' ? c.lastError ?? 'error'
          : phase === 'Deleting' ? (c.spec.reclaimPolicy === 'delete' ? 'dropping the role' : 'keeping the role (reclaimPolicy retain)')
            : s.matches('drifted') ? 'correcting drift' : 'applying';
  const clusterReady = !(s.matches('waitingForCluster') || s.matches({ deleting: 'waiting' }));
  return {
    phase, phaseReason: reason, applied, observedGeneration: c.generation,
    conditions: [
      condition('Ready', applied, applied ? 'Applied' : phase, reason),
      condition('ClusterReady', clusterReady, clusterReady ? 'PrimaryAvailable' : 'ClusterNotReady', clusterReady ? `primary ${c.primary ?? '?'}` : c.waitingReason ?? 'not ready'),
    ],
    ...(c.password?.secretName ? { passwordSecret: c.password.secretName } : {}),
    ...(c.password?.secretVersion ? { passwordSecretVersion: c.password.secretVersion } : {}),
    ...(c.password?.rotatedAt ? { lastRotation: c.password.rotatedAt } : {}),
    ...(c.lastError ? { lastError: c.lastError } : {}),
    ...(c.appliedOn ? { appliedOn: c.appliedOn } : {}),
  };
}
