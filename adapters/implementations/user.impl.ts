// Fills the user machine's effect slots: find the primary, observe the role there, run the plan.
import { fromPromise } from 'xstate';
import type { userMachine } from '../../machines/user/user.machine.js';
import type { ExecuteInput, ExecuteOutput, Observation, Target, TargetInput, UserEffectInput } from '../../machines/user/user.types.js';
import { describeActions, planRole } from '../../machines/user/user.logic.js';
import { withClient } from '../sql/connect.js';
import { readRole, missingRoles, assertPrimary } from '../sql/role-detect.js';
import { applyRoleActions } from '../sql/role-apply.js';
import { assertManagedRole } from '../sql/sql-names.js';
import { resolveTargets, targetsOf, mostBehind, type PrimaryTarget } from './shard-targets.js';
import { resolvePassword } from './user-password.js';
import type { SqlObjectDeps } from './sql-object-deps.js';
import { changeWatcher, defaultWatchTiming } from './change-watcher.js';

export function createUserImplementations(deps: SqlObjectDeps) {
  const now = () => deps.now?.() ?? new Date();
  const password = (input: UserEffectInput) => resolvePassword(deps.secrets, input.resource, input.spec, now(), deps.generatePassword);
  const on = async <T>(t: PrimaryTarget, fn: Parameters<typeof withClient<T>>[1]) =>
    withClient(await deps.endpoint(t.cluster, t.instance), async (c) => { await assertPrimary(c, t.instance); return fn(c); }, 10_000);
  const observeOn = async (input: UserEffectInput, t: PrimaryTarget, pw: Awaited<ReturnType<typeof password>>): Promise<Observation> => on(t, async (c) => ({
    role: await readRole(c, input.spec.name, pw.value),
    missingRoles: input.spec.ensure === 'absent' ? [] : await missingRoles(c, input.spec.inRoles ?? []),
    password: pw.state,
    at: now().toISOString(),
  }));

  return {
    actors: {
      resolveTarget: fromPromise<Target, TargetInput>(({ input }) => resolveTargets(deps.store, input.cluster)),

      observeRole: fromPromise<Observation, UserEffectInput>(async ({ input }) => {
        assertManagedRole(input.spec.name);
        const pw = await password(input);
        const seen: Observation[] = [];
        for (const t of targetsOf(input.cluster, input.primary)) seen.push(await observeOn(input, t, pw));
        return mostBehind(seen, (o) => planRole(input.spec, o.role, o.missingRoles).length);
      }),

      executeRoleActions: fromPromise<ExecuteOutput, ExecuteInput>(async ({ input }) => {
        assertManagedRole(input.spec.name);
        const needs = input.actions.some((a) => a.kind === 'setPassword');
        const pw = needs ? (await password(input)).value : null;
        const targets = targetsOf(input.cluster, input.primary);
        if (targets.length === 1) await on(targets[0]!, (c) => applyRoleActions(c, input.spec.name, input.actions, pw));
        else {
          // Shards may differ (one missed a change): each gets the plan for what it holds.
          const pwAll = await password(input);
          for (const t of targets) {
            const o = await observeOn(input, t, pwAll);
            const actions = planRole(input.spec, o.role, o.missingRoles);
            if (actions.length) await on(t, (c) => applyRoleActions(c, input.spec.name, actions, pwAll.value));
          }
        }
        deps.log.info({ resource: `${input.resource.namespace}/${input.resource.name}`, role: input.spec.name, on: input.primary, actions: describeActions(input.actions) }, 'role applied');
        return { at: now().toISOString() };
      }),

      watchForChanges: changeWatcher(deps.secrets, { ...defaultWatchTiming(), ...deps.timing }),
    },
  } satisfies Parameters<typeof userMachine.provide>[0];
}
