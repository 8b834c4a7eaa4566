// ScheduledBackup ⇄ scheduledBackup machine: input from the resource (defaults filled), spec generations and
// deletion as events, status from snapshots. Pure.
import type { Resource } from '../../crds/definition.js';
import type { ScheduledBackupSpec } from '../../crds/scheduledbackup.js';
import { scheduledBackupMachine, type ScheduledBackupMachine } from '../../machines/scheduled-backup/scheduled-backup.machine.js';
import type { ScheduleSpec, ScheduledBackupEvent } from '../../machines/scheduled-backup/scheduled-backup.types.js';
import { selectSchedulePhase, selectScheduledBackupStatus } from '../../machines/scheduled-backup/scheduled-backup.selectors.js';
import { mergeConditions, type Condition } from '../status/conditions.js';
import type { KindBinding, Notice } from '../binding.js';

export function scheduleSpec(r: Resource): ScheduleSpec {
  const s = r.spec as Partial<ScheduledBackupSpec> & Pick<ScheduledBackupSpec, 'cluster' | 'schedule'>;
  return {
    cluster: { name: s.cluster.name }, schedule: s.schedule, suspend: s.suspend ?? false, immediate: s.immediate ?? false,
    backupType: s.backupType ?? 'full', target: s.target ?? 'prefer-standby', concurrencyPolicy: s.concurrencyPolicy ?? 'forbid',
    successfulJobsHistoryLimit: s.successfulJobsHistoryLimit ?? 3, failedJobsHistoryLimit: s.failedJobsHistoryLimit ?? 1,
  };
}

export const scheduledBackupBinding: KindBinding<ScheduledBackupMachine> = {
  kind: 'ScheduledBackup',
  machineId: 'scheduledBackup',
  machine: scheduledBackupMachine,
  input: (r) => ({
    namespace: r.metadata.namespace ?? 'default', name: r.metadata.name, uid: r.metadata.uid ?? r.metadata.name,
    generation: r.metadata.generation ?? 1, createdAt: r.metadata.creationTimestamp ?? '', spec: scheduleSpec(r),
  }),
  eventsFor(r, snapshot) {
    const events: ScheduledBackupEvent[] = [];
    if (snapshot.status !== 'active') return events;
    if (r.metadata.deletionTimestamp) {
      if (!snapshot.matches('deleting')) events.push({ type: 'resource.deleted' });
      return events;
    }
    const generation = r.metadata.generation ?? 1;
    if (generation !== snapshot.context.generation) events.push({ type: 'spec.changed', spec: scheduleSpec(r), generation });
    return events;
  },
  status(snapshot, previous, now) {
    const s = selectScheduledBackupStatus(snapshot);
    return { ...s, conditions: mergeConditions(previous.conditions as Condition[] | undefined, s.conditions, now, s.observedGeneration) };
  },
  generationOf: (snapshot) => snapshot.context.generation,
  notices(before, after) {
    const created = after.context.lastBackupName;
    const out: Notice[] = before && created && created !== before.context.lastBackupName
      ? [{ type: 'Normal', reason: 'BackupJobCreated', message: `created BackupJob ${created}` }] : [];
    if (before && after.context.skippedRuns > before.context.skippedRuns) {
      out.push({ type: 'Normal', reason: 'RunSkipped', message: 'a BackupJob of this schedule is still running (concurrencyPolicy forbid)' });
    }
    if (before && after.context.missedRuns > before.context.missedRuns) {
      out.push({ type: 'Normal', reason: 'MissedRuns', message: `${after.context.missedRuns - before.context.missedRuns} run(s) missed while the operator was down; one catch-up run instead` });
    }
    if (before) {
      const [from, to] = [selectSchedulePhase(before), selectSchedulePhase(after)];
      if (from !== to && (to === 'Failed' || to === 'Retrying')) out.push({ type: 'Warning', reason: to, message: after.context.error ?? to });
    }
    return out;
  },
};
