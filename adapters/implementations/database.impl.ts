// Fills the database machine's effect slots: find the primary, observe the database there, run the plan.
import { fromPromise } from 'xstate';
import type { databaseMachine } from '../../machines/database/database.machine.js';
import type { DatabaseEffectInput, DatabaseExecuteInput, DatabaseExecuteOutput, DatabaseObservation, Target, TargetInput } from '../../machines/database/database.types.js';
import { describeDatabaseActions, managedDefaultGrantees, managedGrantees, rolesNamed, planDatabase } from '../../machines/database/database.logic.js';
import { withClient } from '../sql/connect.js';
import { assertPrimary, missingRoles } from '../sql/role-detect.js';
import { readDatabaseRow, readDatabaseContents } from '../sql/database-detect.js';
import { applyInDatabase, applyServerLevel, isServerLevel } from '../sql/database-apply.js';
import { assertManagedDatabase } from '../sql/sql-names.js';
import { resolveTargets, targetsOf, mostBehind, type PrimaryTarget } from './shard-targets.js';
import type { SqlObjectDeps } from './sql-object-deps.js';
import { changeWatcher, defaultWatchTiming } from './change-watcher.js';

// CREATE DATABASE copies the template and checkpoints: give it more than the default statement timeout.
const TIMEOUT_MS = 30_000;

export function createDatabaseImplementations(deps: SqlObjectDeps) {
  const now = () => deps.now?.() ?? new Date();
  const on = async <T>(t: PrimaryTarget, database: string | undefined, fn: Parameters<typeof withClient<T>>[1]) => {
    const ep = await deps.endpoint(t.cluster, t.instance);
    return withClient({ ...ep, ...(database ? { database } : {}) }, async (c) => { await assertPrimary(c, t.instance); return fn(c); }, TIMEOUT_MS);
  };
  const observeOn = async (input: DatabaseEffectInput, t: PrimaryTarget): Promise<DatabaseObservation> => {
    const { spec } = input;
    const grantees = managedGrantees(spec);
    const row = await on(t, undefined, async (c) => ({ row: await readDatabaseRow(c, spec.name, grantees), missing: await missingRoles(c, rolesNamed(spec)) }));
    if (!row.row || spec.ensure === 'absent') {
      return { database: row.row ? { ...row.row, extensions: [], schemas: [], grants: row.row.dbGrants, defaults: [] } : null, missingRoles: row.missing, at: now().toISOString() };
    }
    const { dbGrants, ...db } = row.row;
    const inside = await on(t, spec.name, (c) => readDatabaseContents(c, grantees, managedDefaultGrantees(spec)));
    return { database: { ...db, ...inside, grants: [...dbGrants, ...inside.grants] }, missingRoles: row.missing, at: now().toISOString() };
  };
  const applyOn = async (input: DatabaseExecuteInput, t: PrimaryTarget, actions: DatabaseExecuteInput['actions']) => {
    if (actions.some(isServerLevel)) await on(t, undefined, (c) => applyServerLevel(c, input.spec, actions));
    if (actions.some((a) => !isServerLevel(a))) await on(t, input.spec.name, (c) => applyInDatabase(c, input.spec, actions));
  };

  return {
    actors: {
      resolveTarget: fromPromise<Target, TargetInput>(({ input }) => resolveTargets(deps.store, input.cluster)),

      observeDatabase: fromPromise<DatabaseObservation, DatabaseEffectInput>(async ({ input }) => {
        assertManagedDatabase(input.spec.name);
        const seen: DatabaseObservation[] = [];
        for (const t of targetsOf(input.cluster, input.primary)) seen.push(await observeOn(input, t));
        return mostBehind(seen, (o) => planDatabase(input.spec, o.database).length);
      }),

      executeDatabaseActions: fromPromise<DatabaseExecuteOutput, DatabaseExecuteInput>(async ({ input }) => {
        assertManagedDatabase(input.spec.name);
        const targets = targetsOf(input.cluster, input.primary);
        if (targets.length === 1) await applyOn(input, targets[0]!, input.actions);
        else {
          // Shards may differ (one missed a change): each gets the plan for what it holds.
          for (const t of targets) {
            const actions = planDatabase(input.spec, (await observeOn(input, t)).database);
            if (actions.length) await applyOn(input, t, actions);
          }
        }
        deps.log.info({ resource: `${input.resource.namespace}/${input.resource.name}`, database: input.spec.name, on: input.primary, actions: describeDatabaseActions(input.actions) }, 'database applied');
        return { at: now().toISOString() };
      }),

      watchForChanges: changeWatcher(null, { ...defaultWatchTiming(), ...deps.timing }, deps.primaries && { ...deps.primaries, store: deps.store }),
    },
  } satisfies Parameters<typeof databaseMachine.provide>[0];
}
