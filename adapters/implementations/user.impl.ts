// Fills the user machine's effect slots: find the primary, observe the role there, run the plan.
import { fromPromise } from 'xstate';
import type { userMachine } from '../../machines/user/user.machine.js';
import type { ExecuteInput, ExecuteOutput, Observation, Target, TargetInput, UserEffectInput } from '../../machines/user/user.types.js';
import { describeActions, planRole } from '../../machines/user/user.logic.js';
import { withClient } from '../sql/connect.js';
import { readRole, missingRoles, assertPrimary } from '../sql/role-detect.js';
import { applyRoleActions } from '../sql/role-apply.js';
import { assertManagedRole } from '../sql/sql-names.js';
import { scramVerifier, stableSalt } from '../sql/scram.js';
import type { PostgresCluster } from '../../crds/postgrescluster.js';
import { resolveTargets, targetsOf, mostBehind, type PrimaryTarget } from './shard-targets.js';
import { resolvePassword } from './user-password.js';
import type { SqlObjectDeps } from './sql-object-deps.js';
import { changeWatcher, defaultWatchTiming } from './change-watcher.js';

export function createUserImplementations(deps: SqlObjectDeps) {
  const now = () => deps.now?.() ?? new Date();
  const password = (input: UserEffectInput) => resolvePassword(deps.secrets, input.resource, input.spec, now(), deps.generatePassword);
  const on = async <T>(t: PrimaryTarget, fn: Parameters<typeof withClient<T>>[1]) =>
    withClient(await deps.endpoint(t.cluster, t.instance), async (c) => { await assertPrimary(c, t.instance); return fn(c); }, 10_000);
  /** On a sharded cluster, the one verifier every shard stores for this password (salt keyed by the cluster's uid). */
  const shardedVerifier = async (input: UserEffectInput, pw: string | null): Promise<string | undefined> => {
    if (pw === null) return undefined;
    const c = await deps.store.get({ kind: 'PostgresCluster', namespace: input.cluster.namespace, name: input.cluster.name }) as PostgresCluster | undefined;
    const key = c?.metadata.uid ?? `${input.cluster.namespace}/${input.cluster.name}`;
    return scramVerifier(pw, 4096, stableSalt(key, input.spec.name));
  };
  const observeOn = async (input: UserEffectInput, t: PrimaryTarget, pw: Awaited<ReturnType<typeof password>>, verifier?: string): Promise<Observation> => on(t, async (c) => ({
    role: await readRole(c, input.spec.name, pw.value, verifier),
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
        const targets = targetsOf(input.cluster, input.primary);
        const verifier = targets.length > 1 ? await shardedVerifier(input, pw.value) : undefined;
        const seen: Observation[] = [];
        for (const t of targets) seen.push(await observeOn(input, t, pw, verifier));
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
          // The router reuses a client's SCRAM key on every shard, so every shard stores the same verifier.
          const pwAll = await password(input);
          const verifier = await shardedVerifier(input, pwAll.value);
          for (const t of targets) {
            const o = await observeOn(input, t, pwAll, verifier);
            const actions = planRole(input.spec, o.role, o.missingRoles);
            if (actions.length) await on(t, (c) => applyRoleActions(c, input.spec.name, actions, pwAll.value, verifier));
          }
        }
        deps.log.info({ resource: `${input.resource.namespace}/${input.resource.name}`, role: input.spec.name, on: input.primary, actions: describeActions(input.actions) }, 'role applied');
        return { at: now().toISOString() };
      }),

      watchForChanges: changeWatcher(deps.secrets, { ...defaultWatchTiming(), ...deps.timing }, deps.primaries && { ...deps.primaries, store: deps.store }),
    },
  } satisfies Parameters<typeof userMachine.provide>[0];
}
