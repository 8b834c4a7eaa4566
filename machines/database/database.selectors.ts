// Snapshot → PostgresDatabase status (no machine envelope; the runtime adds it). Pure.
import type { SnapshotFrom } from 'xstate';
import type { DatabaseMachine } from './database.machine.js';
import { condition, type ConditionIntent } from '../shared/conditions.js';
import { isRechecking, selectSqlObjectPhase, type SqlObjectPhase } from '../shared/sql-object-phase.js';

export type DatabaseSnapshot = SnapshotFrom<DatabaseMachine>;

export function selectDatabasePhase(s: DatabaseSnapshot): SqlObjectPhase {
  return selectSqlObjectPhase(s);
}

export function selectDatabaseStatus(s: DatabaseSnapshot) {
  const c = s.context;
  const phase = selectDatabasePhase(s);
  const applied = phase === 'Applied' && c.appliedGeneration === c.generation;
  const waiting = s.matches('waitingForCluster') || s.matches({ deleting: 'waiting' });
  const reason = waiting ? `waiting for the cluster: ${c.waitingReason ?? 'not ready'}`
    : phase === 'Pending' ? 'finding the cluster\'s primary'
      : phase === 'Applied' ? `database ${JSON.stringify(c.spec.name)} as declared on ${c.appliedOn ?? '?'}${isRechecking(s) ? ' (re-checking)' : ''}`
        : phase === 'Retrying' || phase === 'Failed' ? c.lastError ?? 'error'
          : phase === 'Deleting' ? (c.spec.reclaimPolicy === 'delete' ? 'dropping the database' : 'keeping the database (reclaimPolicy retain)')
            : s.matches('drifted') ? 'correcting drift' : 'applying';
  const conditions: ConditionIntent[] = [
    condition('Ready', applied, applied ? 'Applied' : phase, reason),
    condition('ClusterReady', !waiting, waiting ? 'ClusterNotReady' : 'PrimaryAvailable', waiting ? c.waitingReason ?? 'not ready' : `primary ${c.primary ?? '?'}`),
  ];
  return {
    phase, phaseReason: reason, applied, observedGeneration: c.generation, conditions,
    ...(c.lastError ? { lastError: c.lastError } : {}),
    ...(c.appliedOn ? { appliedOn: c.appliedOn } : {}),
    ...(c.lastCheckedAt ? { lastChecked: c.lastCheckedAt } : {}),
    driftCorrections: c.driftCorrections,
  };
}
