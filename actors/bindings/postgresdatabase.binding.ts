// PostgresDatabase ⇄ database machine: input from the resource, events from its changes, status from snapshots. Pure.
import type { PostgresDatabaseSpec } from '../../crds/postgresdatabase.js';
import { databaseMachine, type DatabaseMachine } from '../../machines/database/database.machine.js';
import type { DatabaseEvent } from '../../machines/database/database.types.js';
import { selectDatabasePhase, selectDatabaseStatus } from '../../machines/database/database.selectors.js';
import { mergeConditions, type Condition } from '../status/conditions.js';
import { referencedBy, type KindBinding } from '../binding.js';
import { sqlObjectEvents } from './postgresuser.binding.js';

export const postgresDatabaseBinding: KindBinding<DatabaseMachine> = {
  kind: 'PostgresDatabase',
  machineId: 'database',
  machine: databaseMachine,
  input: (r) => ({ namespace: r.metadata.namespace ?? 'default', name: r.metadata.name, spec: r.spec as PostgresDatabaseSpec, generation: r.metadata.generation ?? 1 }),
  eventsFor(r, snapshot) {
    const waiting = snapshot.matches('waitingForCluster') || snapshot.matches({ deleting: 'waiting' });
    return sqlObjectEvents<PostgresDatabaseSpec>(r, snapshot as never, waiting, snapshot.matches('deleting') || snapshot.matches('deleted')) as DatabaseEvent[];
  },
  status(snapshot, previous, now) {
    const s = selectDatabaseStatus(snapshot);
    return { ...s, conditions: mergeConditions(previous.conditions as Condition[] | undefined, s.conditions, now, s.observedGeneration) };
  },
  generationOf: (snapshot) => snapshot.context.generation,
  watches: [referencedBy('PostgresCluster', 'PostgresDatabase', (d) => (d.spec as PostgresDatabaseSpec).cluster.name)],
  notices(before, after) {
    if (!before) return [];
    const [from, to] = [selectDatabasePhase(before), selectDatabasePhase(after)];
    const drift = after.context.driftCorrections > before.context.driftCorrections
      ? [{ type: 'Warning' as const, reason: 'DriftCorrected', message: `database ${JSON.stringify(after.context.spec.name)} had drifted from its spec; corrected` }] : [];
    return [...drift, ...(from === to ? [] : [{ type: to === 'Failed' || to === 'Retrying' ? 'Warning' as const : 'Normal' as const, reason: to, message: `database ${JSON.stringify(after.context.spec.name)}: ${from} → ${to}` }])];
  },
};
