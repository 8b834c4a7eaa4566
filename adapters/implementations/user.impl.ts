// Fills the user machine's effect slots: find the primary, observe the role there, run the plan.
import { fromPromise } from 'xstate';
import type { userMachine } from '../../machines/user/user.machine.js';
import type { ExecuteInput, ExecuteOutput, Observation, Target, TargetInput, UserEffectInput } from '../../machines/user/user.types.js';
import { describeActions } from '../../machines/user/user.logic.js';
import { withClient } from '../sql/connect.js';
import { readRole, missingRoles, assertPrimary } from '../sql/role-detect.js';
import { applyRoleActions } from '../sql/role-apply.js';
import { assertManagedRole } from '../sql/sql-names.js';
import { resolveClusterTarget } from './cluster-target.js';
import { resolvePassword } from './user-password.js';
import type { SqlObjectDeps } from './sql-object-deps.js';
import { changeWatcher, defaultWatchTiming } from './change-watcher.js';

export function createUserImplementations(deps: SqlObjectDeps) {
  const now = () => deps.now?.() ?? new Date();
  const password = (input: UserEffectInput) => resolvePassword(deps.secrets, input.resource, input.spec, now(), deps.generatePassword);
  const onPrimary = async <T>(input: UserEffectInput, fn: Parameters<typeof withClient<T>>[1]) =>
    withClient(await deps.endpoint(input.cluster, input.primary), async (c) => { await assertPrimary(c, input.primary); return fn(c); }, 10_000);

  return {
    actors: {
      resolveTarget: fromPromise<Target, TargetInput>(({ input }) => resolveClusterTarget(deps.store, input.cluster)),

      observeRole: fromPromise<Observation, UserEffectInput>(async ({ input }) => {
        assertManagedRole(input.spec.name);
        const pw = await password(input);
        return onPrimary(input, async (c) => ({
          role: await readRole(c, input.spec.name, pw.value),
          missingRoles: input.spec.ensure === 'absent' ? [] : await missingRoles(c, input.spec.inRoles ?? []),
          password: pw.state,
          at: now().toISOString(),
        }));
      }),

      executeRoleActions: fromPromise<ExecuteOutput, ExecuteInput>(async ({ input }) => {
        assertManagedRole(input.spec.name);
        const needs = input.actions.some((a) => a.kind === 'setPassword');
        const pw = needs ? (await password(input)).value : null;
        await onPrimary(input, (c) => applyRoleActions(c, input.spec.name, input.actions, pw));
        deps.log.info({ resource: `${input.resource.namespace}/${input.resource.name}`, role: input.spec.name, on: input.primary, actions: describeActions(input.actions) }, 'role applied');
        return { at: now().toISOString() };
      }),

      watchForChanges: changeWatcher(deps.secrets, { ...defaultWatchTiming(), ...deps.timing }),
    },
  } satisfies Parameters<typeof userMachine.provide>[0];
}
