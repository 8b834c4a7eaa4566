// Persisted snapshots travel in a versioned envelope, so an operator never restores a snapshot into a machine
// whose shape changed: it migrates it, or refuses and says so in a status condition.
import { MACHINE_VERSIONS, type MachineId } from '../../machines/shared/versions.js';

export interface SnapshotEnvelope {
  machineId: MachineId;
  version: number;
  observedGeneration: number;
  savedAt: string;
  snapshot: unknown;
}

export type Restorable =
  | { kind: 'none' }
  | { kind: 'ok'; envelope: SnapshotEnvelope }
  | { kind: 'incompatible'; reason: string };

type Migration = (snapshot: unknown) => unknown;
/** machineId → version it migrates from → migration to version+1. None yet: every machine is at version 1. */
export const MIGRATIONS: Partial<Record<MachineId, Record<number, Migration>>> = {};

export function readEnvelope(machineId: MachineId, raw: unknown): Restorable {
  if (raw === undefined || raw === null) return { kind: 'none' };
  const e = raw as Partial<SnapshotEnvelope>;
  if (typeof e !== 'object' || e.machineId !== machineId || typeof e.version !== 'number' || typeof e.snapshot !== 'object') {
    return { kind: 'incompatible', reason: `status.machine is not a ${machineId} snapshot envelope` };
  }
  let { version, snapshot } = e as SnapshotEnvelope;
  const target = MACHINE_VERSIONS[machineId];
  while (version < target) {
    const step = MIGRATIONS[machineId]?.[version];
    if (!step) return { kind: 'incompatible', reason: `snapshot is version ${version} of ${machineId}; this operator runs version ${target} and has no migration from ${version}` };
    snapshot = step(snapshot);
    version++;
  }
  if (version > target) return { kind: 'incompatible', reason: `snapshot is version ${version} of ${machineId}, newer than this operator (${target}); upgrade the operator` };
  return { kind: 'ok', envelope: { ...(e as SnapshotEnvelope), version, snapshot } };
}

export function envelope(machineId: MachineId, observedGeneration: number, snapshot: unknown, now: Date): SnapshotEnvelope {
  return { machineId, version: MACHINE_VERSIONS[machineId], observedGeneration, savedAt: now.toISOString(), snapshot };
}
