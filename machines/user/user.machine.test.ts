import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createActor, fromPromise, fromCallback, type AnyEventObject } from 'xstate';
import { userMachine } from './user.machine.js';
import { selectUserStatus } from './user.selectors.js';
import type { ExecuteInput, Observation, ObservedRole, Target, TargetInput, UserEffectInput, WatchInput } from './user.types.js';
import type { PostgresUserSpec } from '../../crds/postgresuser.js';

/** The machine tells permanent errors by name, as adapters throw them (actors/ports/errors.ts). */
class PermanentError extends Error { override name = 'PermanentError'; }

const settle = () => new Promise((r) => setTimeout(r, 5));
const spec = (s: Partial<PostgresUserSpec> = {}): PostgresUserSpec => ({ cluster: { name: 'demo' }, name: 'app', reclaimPolicy: 'delete', ...s } as PostgresUserSpec);
const role = (o: Partial<ObservedRole> = {}): ObservedRole => ({
  superuser: false, inherit: true, createrole: false, createdb: false, login: true, replication: false, bypassrls: false,
  connectionLimit: -1, validUntil: null, memberOf: [], passwordMatches: true, ...o,
});

/** Fakes behind the same slots the adapters fill: a cluster target, a "database" of one role, a call log. */
function fake(initial: { target?: Target; role?: ObservedRole | null } = {}) {
  const world = { target: initial.target ?? { ready: true, primary: 'demo-1' } as Target, role: initial.role ?? null as ObservedRole | null, fail: null as Error | null, hold: null as Promise<void> | null };
  const calls: string[] = [];
  const watchers: ((e: AnyEventObject) => void)[] = [];
  const machine = userMachine.provide({
    actors: {
      resolveTarget: fromPromise<Target, TargetInput>(async () => world.target),
      observeRole: fromPromise<Observation, UserEffectInput>(async ({ input }) => {
        calls.push(`observe on ${input.primary}`);
        if (world.hold) await world.hold;
        if (world.fail) throw world.fail;
        return { role: world.role, missingRoles: [], password: { source: 'generated', secretName: 'demo-user-x', secretVersion: '1', rotatedAt: null }, at: '2026-01-01T00:00:00Z' };
      }),
      executeRoleActions: fromPromise<{ at: string }, ExecuteInput>(async ({ input }) => {
        calls.push(`execute ${input.actions.map((a) => a.kind).join(',')} on ${input.primary}`);
        if (world.fail) throw world.fail;
        if (input.actions.some((a) => a.kind === 'dropRole')) world.role = null;
        else world.role = role({ createdb: input.spec.createdb ?? false });
        return { at: '2026-01-01T00:00:01Z' };
      }),
      watchForChanges: fromCallback<AnyEventObject, WatchInput>(({ sendBack }) => { watchers.push(sendBack); return () => undefined; }),
    },
  });
  return { world, calls, machine, poke: (e: AnyEventObject) => watchers.at(-1)?.(e) };
}

const input = (s = spec()) => ({ namespace: 'default', name: 'x', spec: s, generation: 1 });

test('a new role is created on the primary and the user is Applied; the password never enters the context', async () => {
  const f = fake();
  const actor = createActor(f.machine, { input: input() }).start();
  await settle();
  assert.equal(actor.getSnapshot().value, 'applied');
  assert.deepEqual(f.calls, ['observe on demo-1', 'execute createRole,setPassword on demo-1']);
  const status = selectUserStatus(actor.getSnapshot());
  assert.equal(status.applied, true);
  assert.equal(status.passwordSecret, 'demo-user-x');
  assert.doesNotMatch(JSON.stringify(actor.getPersistedSnapshot()), /password"\s*:\s*"/);
});

test('while the cluster is not ready the user waits with the reason, and goes on when it is', async () => {
  const f = fake({ target: { ready: false, reason: 'cluster demo is FailingOver' } });
  const actor = createActor(f.machine, { input: input() }).start();
  await settle();
  assert.equal(actor.getSnapshot().value, 'waitingForCluster');
  const status = selectUserStatus(actor.getSnapshot());
  assert.equal(status.phase, 'Pending');
  assert.match(status.phaseReason, /FailingOver/);
  f.world.target = { ready: true, primary: 'demo-2' };
  actor.send({ type: 'cluster.changed' });
  await settle();
  assert.equal(actor.getSnapshot().value, 'applied');
  assert.equal(actor.getSnapshot().context.appliedOn, 'demo-2');
});

test('a spec change re-plans only the difference; a hand-made change is drift and is corrected', async () => {
  const f = fake();
  const actor = createActor(f.machine, { input: input() }).start();
  await settle();
  f.calls.length = 0;
  actor.send({ type: 'spec.changed', spec: spec({ createdb: true }), generation: 2 });
  await settle();
  assert.deepEqual(f.calls, ['observe on demo-1', 'execute alterRole on demo-1']);
  assert.equal(selectUserStatus(actor.getSnapshot()).observedGeneration, 2);
  f.calls.length = 0;
  f.world.role = role({ createdb: false });
  f.poke({ type: 'resync.due' });
  await settle();
  assert.deepEqual(f.calls, ['observe on demo-1', 'execute alterRole on demo-1']);
  assert.equal(actor.getSnapshot().value, 'applied');
});

test('a failing primary sends the user to retrying, and it finishes on the new primary', async () => {
  const f = fake();
  f.world.fail = new Error('connection refused');
  const actor = createActor(f.machine, { input: input() }).start();
  await settle();
  assert.equal(actor.getSnapshot().value, 'retrying');
  assert.equal(selectUserStatus(actor.getSnapshot()).lastError, 'connection refused');
  f.world.fail = null;
  f.world.target = { ready: true, primary: 'demo-2' };
  actor.send({ type: 'resync.due' });
  await settle();
  assert.equal(actor.getSnapshot().value, 'applied');
  assert.equal(actor.getSnapshot().context.appliedOn, 'demo-2');
});

test('a permanent error fails until the spec changes', async () => {
  const f = fake();
  f.world.fail = new PermanentError('role "postgres" is reserved');
  const actor = createActor(f.machine, { input: input() }).start();
  await settle();
  assert.equal(actor.getSnapshot().value, 'failed');
  actor.send({ type: 'resync.due' });
  await settle();
  assert.equal(actor.getSnapshot().value, 'failed');
  f.world.fail = null;
  actor.send({ type: 'spec.changed', spec: spec({ name: 'other' }), generation: 2 });
  await settle();
  assert.equal(actor.getSnapshot().value, 'applied');
});

test('deletion with reclaimPolicy delete drops the role; retain keeps it', async () => {
  const f = fake();
  const actor = createActor(f.machine, { input: input() }).start();
  await settle();
  actor.send({ type: 'resource.deleted' });
  await settle();
  assert.equal(actor.getSnapshot().status, 'done');
  assert.equal(f.world.role, null);
  const g = fake();
  const kept = createActor(g.machine, { input: input(spec({ reclaimPolicy: 'retain' })) }).start();
  await settle();
  kept.send({ type: 'resource.deleted' });
  await settle();
  assert.equal(kept.getSnapshot().status, 'done');
  assert.notEqual(g.world.role, null);
});

test('a snapshot persisted mid-apply restores and re-runs the (idempotent) apply', async () => {
  const f = fake();
  const actor = createActor(f.machine, { input: input() }).start();
  await settle();
  actor.send({ type: 'spec.changed', spec: spec({ createdb: true }), generation: 2 });
  const mid = actor.getPersistedSnapshot();
  actor.stop();
  f.calls.length = 0;
  const restored = createActor(f.machine, { input: input(), snapshot: mid }).start();
  await settle();
  assert.equal(restored.getSnapshot().value, 'applied');
  assert.equal(restored.getSnapshot().context.appliedGeneration, 2);
  assert.ok(f.calls.length > 0);
});

test('a spec change while applying is not lost: the machine applies again for the new generation', async () => {
  const f = fake();
  const actor = createActor(f.machine, { input: input() }).start();
  actor.send({ type: 'spec.changed', spec: spec({ createdb: true }), generation: 2 });
  await settle();
  assert.equal(actor.getSnapshot().value, 'applied');
  assert.equal(actor.getSnapshot().context.appliedGeneration, 2);
  assert.equal(f.world.role?.createdb, true);
});

test('a drift check of an applied role stays Applied and Ready while it looks, and drops Ready only for a real difference', async () => {
  const f = fake();
  const actor = createActor(f.machine, { input: input(spec({ createdb: true })) }).start();
  await settle();
  let release = () => {};
  f.world.hold = new Promise<void>((r) => { release = r; });
  f.poke({ type: 'resync.due' });
  await settle();
  assert.equal(actor.getSnapshot().value, 'observing');
  const looking = selectUserStatus(actor.getSnapshot());
  assert.deepEqual([looking.phase, looking.applied, looking.conditions.find((c) => c.type === 'Ready')?.status], ['Applied', true, 'True']);
  assert.match(looking.phaseReason, /re-checking/);
  // The same look that finds a hand-made change reports it while correcting it.
  f.world.role = role({ createdb: false });
  let correcting: ReturnType<typeof selectUserStatus> | null = null;
  const sub = actor.subscribe((s) => { if (s.matches('drifted')) correcting = selectUserStatus(s); });
  release();
  await settle();
  sub.unsubscribe();
  assert.deepEqual(correcting && [(correcting as ReturnType<typeof selectUserStatus>).phase, (correcting as ReturnType<typeof selectUserStatus>).applied], ['Applying', false]);
  assert.equal(selectUserStatus(actor.getSnapshot()).phase, 'Applied');
  // A new generation is not "re-checking": it is Pending until applied.
  f.world.hold = null;
  actor.send({ type: 'spec.changed', spec: spec({ createdb: false }), generation: 2 });
  const pendingNew = selectUserStatus(actor.getSnapshot());
  assert.deepEqual([pendingNew.phase, pendingNew.applied], ['Pending', false]);
  await settle();
  assert.equal(selectUserStatus(actor.getSnapshot()).applied, true);
});
