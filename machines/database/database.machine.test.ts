import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createActor, fromPromise, fromCallback, type AnyEventObject } from 'xstate';
import { databaseMachine } from './database.machine.js';
import { selectDatabaseStatus } from './database.selectors.js';
import type { DatabaseEffectInput, DatabaseExecuteInput, DatabaseObservation, ObservedDatabase, Target, TargetInput, WatchInput } from './database.types.js';
import type { PostgresDatabaseSpec } from '../../crds/postgresdatabase.js';

const settle = () => new Promise((r) => setTimeout(r, 5));
const spec: PostgresDatabaseSpec = { cluster: { name: 'demo' }, name: 'shop', owner: 'app', reclaimPolicy: 'delete', schemas: [{ name: 'sales', ensure: 'present' }] } as PostgresDatabaseSpec;
const asDeclared = (): ObservedDatabase => ({ owner: 'app', encoding: 'UTF8', connectionLimit: -1, allowConnections: true, extensions: [], schemas: [{ name: 'sales', owner: 'app' }], grants: [], defaults: [] });

function fake() {
  const world = { db: null as ObservedDatabase | null, calls: [] as string[] };
  const pokes: ((e: AnyEventObject) => void)[] = [];
  const machine = databaseMachine.provide({
    actors: {
      resolveTarget: fromPromise<Target, TargetInput>(async () => ({ ready: true, primary: 'demo-1' })),
      observeDatabase: fromPromise<DatabaseObservation, DatabaseEffectInput>(async () => ({ database: world.db, missingRoles: [], at: '2026-01-01T00:00:00Z' })),
      executeDatabaseActions: fromPromise<{ at: string }, DatabaseExecuteInput>(async ({ input }) => {
        world.calls.push(input.actions.map((a) => a.kind).join(','));
        world.db = input.actions.some((a) => a.kind === 'dropDatabase') ? null : asDeclared();
        return { at: '2026-01-01T00:00:01Z' };
      }),
      watchForChanges: fromCallback<AnyEventObject, WatchInput>(({ sendBack }) => { pokes.push(sendBack); return () => undefined; }),
    },
  });
  return { world, machine, poke: (e: AnyEventObject) => pokes.at(-1)?.(e) };
}

test('a database is created with its schema; a hand-dropped schema is drift, corrected and counted', async () => {
  const f = fake();
  const actor = createActor(f.machine, { input: { namespace: 'default', name: 'shop', spec, generation: 1 } }).start();
  await settle();
  assert.deepEqual(f.world.calls, ['createDatabase,createSchema']);
  assert.equal(selectDatabaseStatus(actor.getSnapshot()).applied, true);
  f.world.db = { ...asDeclared(), schemas: [] };
  f.poke({ type: 'resync.due' });
  await settle();
  assert.deepEqual(f.world.calls.at(-1), 'createSchema');
  assert.equal(actor.getSnapshot().value, 'applied');
  assert.equal(selectDatabaseStatus(actor.getSnapshot()).driftCorrections, 1);
  f.poke({ type: 'resync.due' });
  await settle();
  assert.equal(f.world.calls.length, 2, 'nothing to do when the database is as declared');
});

test('deleting with reclaimPolicy delete drops the database and ends the machine', async () => {
  const f = fake();
  const actor = createActor(f.machine, { input: { namespace: 'default', name: 'shop', spec, generation: 1 } }).start();
  await settle();
  actor.send({ type: 'resource.deleted' });
  await settle();
  assert.equal(actor.getSnapshot().status, 'done');
  assert.equal(f.world.db, null);
  assert.equal(f.world.calls.at(-1), 'dropDatabase');
});

test('every status a drift check of an applied database passes through is Applied and Ready', async () => {
  const f = fake();
  const actor = createActor(f.machine, { input: { namespace: 'default', name: 'shop', spec, generation: 1 } }).start();
  await settle();
  const seen: string[] = [];
  const sub = actor.subscribe((s) => {
    const st = selectDatabaseStatus(s);
    seen.push(`${JSON.stringify(s.value)} ${st.phase} ${String(st.applied)} ${st.conditions.find((c) => c.type === 'Ready')?.status ?? '?'}`);
  });
  f.poke({ type: 'resync.due' });
  await settle();
  sub.unsubscribe();
  assert.ok(seen.some((l) => l.startsWith('"observing"')), seen.join(' | '));
  for (const l of seen) assert.match(l, / Applied true True$/, seen.join(' | '));
  assert.deepEqual(f.world.calls, ['createDatabase,createSchema'], 'nothing to correct');
});
