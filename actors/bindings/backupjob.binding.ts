// BackupJob ⇄ backup machine: input from the resource, deletion as an event, status from snapshots.
import type { Resource } from '../../crds/definition.js';
import type { BackupJobSpec } from '../../crds/backupjob.js';
import { backupMachine, type BackupMachine } from '../../machines/backup/backup.machine.js';
import type { BackupEvent } from '../../machines/backup/backup.types.js';
import { selectBackupStatus, selectBackupPhase } from '../../machines/backup/backup.selectors.js';
import { mergeConditions, type Condition } from '../status/conditions.js';
import type { KindBinding, Notice } from '../binding.js';

export const backupJobBinding: KindBinding<BackupMachine> = {
  kind: 'BackupJob',
  machineId: 'backup',
  machine: backupMachine,
  input: (r: Resource) => {
    const spec = r.spec as BackupJobSpec;
    return {
      namespace: r.metadata.namespace ?? 'default', name: r.metadata.name, uid: r.metadata.uid ?? r.metadata.name,
      generation: r.metadata.generation ?? 1, cluster: spec.cluster.name, backupType: spec.backupType ?? 'full',
      target: spec.target ?? 'prefer-standby', kind: spec.type ?? 'backup', createdAt: r.metadata.creationTimestamp ?? '',
    };
  },
  eventsFor(r, snapshot) {
    const events: BackupEvent[] = [];
    if (snapshot.status !== 'active') return events;
    if (r.metadata.deletionTimestamp && !snapshot.matches('deleted')) events.push({ type: 'backupjob.deleted' });
    return events;
  },
  status(snapshot, previous, now) {
    const s = selectBackupStatus(snapshot);
    return { ...s, conditions: mergeConditions(previous.conditions as Condition[] | undefined, s.conditions, now, s.observedGeneration) };
  },
  generationOf: (snapshot) => snapshot.context.generation,
  notices(before, after) {
    if (!before) return [];
    const [from, to] = [selectBackupPhase(before), selectBackupPhase(after)];
    const out: Notice[] = from === to ? [] : [{ type: to === 'Failed' ? 'Warning' : 'Normal', reason: `Backup${to}`, message: to === 'Failed' ? `backup failed: ${after.context.error ?? ''}` : `backup ${to.toLowerCase()}${after.context.result ? `: ${after.context.result.label}` : ''}` }];
    // The backup stays good, but rehearsals of it will compare no table counts: worth an Event of its own.
    const missing = after.context.result?.fingerprintError;
    if (missing && !before.context.result?.fingerprintError) out.push({ type: 'Warning', reason: 'FingerprintNotRecorded', message: `backup ${after.context.result?.label ?? ''}: ${missing}` });
    return out;
  },
};
