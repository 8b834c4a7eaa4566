// PostgresUser ⇄ user machine: input from the resource, events from its changes, status from snapshots. Pure.
import type { Resource } from '../../crds/definition.js';
import type { PostgresUserSpec } from '../../crds/postgresuser.js';
import { userMachine, type UserMachine } from '../../machines/user/user.machine.js';
import type { UserEvent } from '../../machines/user/user.types.js';
import { selectUserPhase, selectUserStatus } from '../../machines/user/user.selectors.js';
import { mergeConditions, type Condition } from '../status/conditions.js';
import { referencedBy, type KindBinding } from '../binding.js';

/** Events shared by the SQL object kinds: spec generation, deletion, and wake-ups for waits a restore lost. */
export function sqlObjectEvents<S>(r: Resource, snapshot: { status: string; context: { generation: number }; matches(v: never): boolean }, isWaiting: boolean, isDeleting: boolean): ({ type: 'spec.changed'; spec: S; generation: number } | { type: 'resource.deleted' } | { type: 'cluster.changed' } | { type: 'resync.due' })[] {
  if (snapshot.status !== 'active') return [];
  if (r.metadata.deletionTimestamp) return isDeleting ? (isWaiting ? [{ type: 'cluster.changed' }] : []) : [{ type: 'resource.deleted' }];
  const out: ({ type: 'spec.changed'; spec: S; generation: number } | { type: 'cluster.changed' })[] = [];
  const generation = r.metadata.generation ?? 1;
  if (generation !== snapshot.context.generation) out.push({ type: 'spec.changed', spec: r.spec as S, generation });
  // A sync reaches a waiting object when its cluster changed (watches below) or at the periodic resync.
  if (isWaiting) out.push({ type: 'cluster.changed' });
  return out;
}

export const postgresUserBinding: KindBinding<UserMachine> = {
  kind: 'PostgresUser',
  machineId: 'user',
  machine: userMachine,
  input: (r) => ({ namespace: r.metadata.namespace ?? 'default', name: r.metadata.name, spec: r.spec as PostgresUserSpec, generation: r.metadata.generation ?? 1 }),
  eventsFor(r, snapshot) {
    // Retrying objects are woken by their own backoff timer; waiting ones by a cluster change or the resync.
    const waiting = snapshot.matches('waitingForCluster') || snapshot.matches({ deleting: 'waiting' });
    return sqlObjectEvents<PostgresUserSpec>(r, snapshot as never, waiting, snapshot.matches('deleting') || snapshot.matches('deleted')) as UserEvent[];
  },
  status(snapshot, previous, now) {
    const s = selectUserStatus(snapshot);
    return { ...s, conditions: mergeConditions(previous.conditions as Condition[] | undefined, s.conditions, now, s.observedGeneration) };
  },
  generationOf: (snapshot) => snapshot.context.generation,
  watches: [referencedBy('PostgresCluster', 'PostgresUser', (u) => (u.spec as PostgresUserSpec).cluster.name)],
  notices(before, after) {
    if (!before) return [];
    const [from, to] = [selectUserPhase(before), selectUserPhase(after)];
    return from === to ? [] : [{ type: to === 'Failed' || to === 'Retrying' ? 'Warning' : 'Normal', reason: to, message: `role ${JSON.stringify(after.context.spec.name)}: ${from} → ${to}` }];
  },
};
