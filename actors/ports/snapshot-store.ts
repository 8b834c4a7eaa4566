// Where actors persist their machine snapshots. A custom resource's actor keeps its snapshot in the object's status
// (status.machine, written with the status through the one status door); an actor that is no custom resource (a
// 2PC transaction, later) uses a SnapshotStore. Both store the same versioned envelope.
import type { MachineId } from '../../machines/shared/versions.js';

export interface SnapshotEnvelope {
  machineId: MachineId;
  /** MACHINE_VERSIONS[machineId] when it was written; older ones are migrated on restore. */
  version: number;
  observedGeneration: number;
  savedAt: string;
  snapshot: unknown;
}

export interface SnapshotStore {
  /** The stored envelope, raw: read it with readEnvelope (actors/persistence/envelope.ts), which migrates or refuses. */
  load(id: string): Promise<unknown>;
  save(id: string, envelope: SnapshotEnvelope): Promise<void>;
  remove(id: string): Promise<void>;
}
