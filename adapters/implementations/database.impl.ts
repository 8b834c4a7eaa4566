// Fills the database machine's effect slots: find the primary, observe the database there, run the plan.
import { fromPromise } from 'xstate';
import type { databaseMachine } from '../../machines/database/database.machine.js';
import type { DatabaseEffectInput, DatabaseExecuteInput, DatabaseExecuteOutput, DatabaseObservation, Target, TargetInput } from '../../machines/database/database.types.js';
import { describeDatabaseActions, managedDefaultGrantees, managedGrantees, rolesNamed } from '../../machines/database/database.logic.js';
import { withClient } from '../sql/connect.js';
import { assertPrimary, missingRoles } from '../sql/role-detect.js';
import { readDatabaseRow, readDatabaseContents } from '../sql/database-detect.js';
import { applyInDatabase, applyServerLevel, isServerLevel } from '../sql/database-apply.js';
import { assertManagedDatabase } from '../sql/sql-names.js';
import { resolveClusterTarget } from './cluster-target.js';
import type { SqlObjectDeps } from './sql-object-deps.js';
import { changeWatcher, defaultWatchTiming } from './change-watcher.js';

// CREATE DATABASE copies the template and checkpoints: give it more than the default statement timeout.
const TIMEOUT_MS = 30_000;

export function createDatabaseImplementations(deps: SqlObjectDeps) {
  const now = () => deps.now?.() ?? new Date();
  const on = async <T>(input: DatabaseEffectInput, database: string | undefined, fn: Parameters<typeof withClient<T>>[1]) => {
    const ep = await deps.endpoint(input.cluster, input.primary);
    return withClient({ ...ep, ...(database ? { database } : {}) }, async (c) => { await assertPrimary(c, input.primary); return fn(c); }, TIMEOUT_MS);
  };

  return {
    actors: {
      resolveTarget: fromPromise<Target, TargetInput>(({ input }) => resolveClusterTarget(deps.store, input.cluster)),

      observeDatabase: fromPromise<DatabaseObservation, DatabaseEffectInput>(async ({ input }) => {
        const { spec } = input;
        assertManagedDatabase(spec.name);
        const grantees = managedGrantees(spec);
        const row = await on(input, undefined, async (c) => ({ row: await readDatabaseRow(c, spec.name, grantees), missing: await missingRoles(c, rolesNamed(spec)) }));
        if (!row.row || spec.ensure === 'absent') {
          return { database: row.row ? { ...row.row, extensions: [], schemas: [], grants: row.row.dbGrants, defaults: [] } : null, missingRoles: row.missing, at: now().toISOString() };
        }
        const { dbGrants, ...db } = row.row;
        const inside = await on(input, spec.name, (c) => readDatabaseContents(c, grantees, managedDefaultGrantees(spec)));
        return { database: { ...db, ...inside, grants: [...dbGrants, ...inside.grants] }, missingRoles: row.missing, at: now().toISOString() };
      }),

      executeDatabaseActions: fromPromise<DatabaseExecuteOutput, DatabaseExecuteInput>(async ({ input }) => {
        assertManagedDatabase(input.spec.name);
        if (input.actions.some(isServerLevel)) await on(input, undefined, (c) => applyServerLevel(c, input.spec, input.actions));
        if (input.actions.some((a) => !isServerLevel(a))) await on(input, input.spec.name, (c) => applyInDatabase(c, input.spec, input.actions));
        deps.log.info({ resource: `${input.resource.namespace}/${input.resource.name}`, database: input.spec.name, on: input.primary, actions: describeDatabaseActions(input.actions) }, 'database applied');
        return { at: now().toISOString() };
      }),

      watchForChanges: changeWatcher(null, { ...defaultWatchTiming(), ...deps.timing }),
    },
  } satisfies Parameters<typeof databaseMachine.provide>[0];
}
