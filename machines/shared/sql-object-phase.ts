// The phase a declarative SQL object (PostgresUser, PostgresDatabase) shows, shared by their selectors. Pure.

export type SqlObjectPhase = 'Pending' | 'Applying' | 'Applied' | 'Retrying' | 'Failed' | 'Deleting';

interface SqlObjectSnapshot {
  matches(state: never): boolean;
  context: { generation: number; appliedGeneration: number | null; lastError: string | null };
}

/**
 * A routine re-check (the drift check, a Secret or cluster change) of a generation already applied, not yet showing
 * a difference. It stays Applied: otherwise Ready would drop and an event fire at every drift check, for nothing.
 */
export function isRechecking(s: SqlObjectSnapshot): boolean {
  const { generation, appliedGeneration, lastError } = s.context;
  const inCheck = (['pending', 'observing', 'planning'] as const).some((state) => s.matches(state as never));
  return inCheck && appliedGeneration === generation && lastError === null;
}

export function selectSqlObjectPhase(s: SqlObjectSnapshot): SqlObjectPhase {
  const is = (state: string) => s.matches(state as never);
  if (is('deleting') || is('deleted')) return 'Deleting';
  if (is('applied') || isRechecking(s)) return 'Applied';
  if (is('pending') || is('waitingForCluster')) return 'Pending';
  if (is('retrying')) return 'Retrying';
  if (is('failed')) return 'Failed';
  return 'Applying';
}
