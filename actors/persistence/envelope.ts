// Persisted snapshots travel in a versioned envelope, so an operator never restores a snapshot into a machine
// whose shape changed: it migrates it (machines/migrations.ts), or refuses and says so in a status condition.
import { MACHINE_VERSIONS, type MachineId } from '../../machines/shared/versions.js';
import { MIGRATIONS, type PersistedSnapshot, type StoredIdentity } from '../../machines/migrations.js';
import type { SnapshotEnvelope } from '../ports/snapshot-store.js';

export type { SnapshotEnvelope } from '../ports/snapshot-store.js';

export type Restorable =
  | { kind: 'none' }
  | { kind: 'ok'; envelope: SnapshotEnvelope; migratedFrom?: number }
  | { kind: 'incompatible'; reason: string };

export function readEnvelope(machineId: MachineId, raw: unknown, stored: StoredIdentity = { uid: '', generation: 1 }): Restorable {
  if (raw === undefined || raw === null) return { kind: 'none' };
  const e = raw as Partial<SnapshotEnvelope>;
  if (typeof e !== 'object' || e.machineId !== machineId || typeof e.version !== 'number' || typeof e.snapshot !== 'object' || e.snapshot === null) {
    return { kind: 'incompatible', reason: `status.machine is not a ${machineId} snapshot envelope` };
  }
  const from = e.version;
  let version = from;
  let snapshot = e.snapshot as PersistedSnapshot;
  const target = MACHINE_VERSIONS[machineId];
  while (version < target) {
    const step = MIGRATIONS[machineId][version];
    if (!step) return { kind: 'incompatible', reason: `snapshot is version ${version} of ${machineId}; this operator runs version ${target} and has no migration from ${version}` };
    try {
      snapshot = step(snapshot, stored);
    } catch (err) {
      return { kind: 'incompatible', reason: `migrating the ${machineId} snapshot from version ${version} failed: ${(err as Error).message}` };
    }
    version++;
  }
  if (version > target) return { kind: 'incompatible', reason: `snapshot is version ${version} of ${machineId}, newer than this operator (${target}); upgrade the operator` };
  return { kind: 'ok', envelope: { ...(e as SnapshotEnvelope), version, snapshot }, ...(from !== version ? { migratedFrom: from } : {}) };
}

export function envelope(machineId: MachineId, observedGeneration: number, snapshot: unknown, now: Date): SnapshotEnvelope {
  return { machineId, version: MACHINE_VERSIONS[machineId], observedGeneration, savedAt: now.toISOString(), snapshot };
}
