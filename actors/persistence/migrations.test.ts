// Every machine's recorded snapshots (tests/fixtures/snapshots/<id>.v<N>.json, written by record.ts before each
// version bump) restore into today's machine: older versions through their migrations. An unknown or unreadable
// snapshot is refused with a reason (the runtime turns it into a status condition), never dropped.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { createActor, fromCallback, fromPromise, setup, type AnyStateMachine } from 'xstate';
import { machineCatalog } from '../../machines/catalog.js';
import { MACHINE_VERSIONS, type MachineId } from '../../machines/shared/versions.js';
import { readEnvelope } from './envelope.js';
import { fakeCluster } from '../../tests/fixtures/cluster-fakes.js';
import { repoRoot } from '../../tests/helpers/cli.js';

const dir = join(repoRoot, 'tests', 'fixtures', 'snapshots');
const fixtures = readdirSync(dir).flatMap((f) => {
  const m = /^(\w+)\.v(\d+)\.json$/.exec(f);
  return m ? [{ id: m[1] as MachineId, version: Number(m[2]), file: join(dir, f) }] : [];
});
const stored = { uid: '6f1c0a8e-0000-4000-8000-000000000001', generation: 1 };
const idle = fromPromise(() => new Promise<never>(() => undefined));

/** Restores a snapshot into the machine, as the root (cluster) or as the child of a bare parent (sendParent). */
function restore(id: MachineId, machine: AnyStateMachine, snapshot: unknown): { status: string; value: unknown; context: Record<string, unknown> } {
  if (id === 'cluster') {
    const actor = createActor(fakeCluster().machine, { snapshot: snapshot as never, input: undefined as never }).start();
    const s = actor.getSnapshot();
    actor.stop();
    return s as never;
  }
  const slots = Object.keys((machine.implementations as { actors: Record<string, unknown> }).actors);
  const child = machine.provide({ actors: Object.fromEntries(slots.map((s) => [s, idle])) as never });
  const parent = setup({ actors: { child } }).createMachine({ invoke: { id: 'child', src: 'child' } });
  const persisted = createActor(parent).getPersistedSnapshot() as unknown as { children: Record<string, { snapshot: unknown }> };
  const withChild = { ...persisted, children: { child: { ...persisted.children.child, snapshot } } };
  const actor = createActor(parent, { snapshot: withChild as never }).start();
  const s = (actor.getSnapshot().children as Record<string, { getSnapshot(): unknown } | undefined>).child?.getSnapshot();
  actor.stop();
  return (s ?? { status: 'missing', value: null, context: {} }) as never;
}

test('every machine has a recorded snapshot of its current version (record.ts), ready for the next bump', () => {
  for (const { id } of machineCatalog) {
    const version = MACHINE_VERSIONS[id as MachineId];
    assert.ok(fixtures.some((f) => f.id === id && f.version === version), `no tests/fixtures/snapshots/${id}.v${version}.json: run node dist/tests/fixtures/snapshots/record.js`);
  }
});

for (const f of fixtures) {
  test(`${f.id} version ${f.version} restores into version ${MACHINE_VERSIONS[f.id]}`, () => {
    const raw = JSON.parse(readFileSync(f.file, 'utf8')) as { value: unknown };
    const read = readEnvelope(f.id, { machineId: f.id, version: f.version, observedGeneration: 1, savedAt: '2026-01-01T00:00:00.000Z', snapshot: raw }, stored);
    assert.equal(read.kind, 'ok', JSON.stringify(read));
    if (read.kind !== 'ok') return;
    assert.equal(read.envelope.version, MACHINE_VERSIONS[f.id]);
    const entry = machineCatalog.find((e) => e.id === f.id);
    assert.ok(entry);
    const restored = restore(f.id, entry.machine, JSON.parse(JSON.stringify(read.envelope.snapshot)));
    assert.notEqual(restored.status, 'error', `${f.id} v${f.version} does not fit today's machine`);
    assert.equal(restored.status, 'active');
    assert.deepEqual(restored.value, raw.value, 'restored in the state it was saved in');
  });
}

test('cluster version 1 gains the object uid, and its instances the owner identity their clone jobs are keyed on', () => {
  const raw = JSON.parse(readFileSync(join(dir, 'cluster.v1.json'), 'utf8')) as { context: Record<string, unknown> };
  assert.equal(raw.context.uid, undefined, 'the v1 fixture predates the uid');
  const read = readEnvelope('cluster', { machineId: 'cluster', version: 1, observedGeneration: 1, savedAt: '', snapshot: raw }, stored);
  assert.equal(read.kind, 'ok');
  if (read.kind !== 'ok') return;
  const snap = read.envelope.snapshot as { context: { uid: string }; children: Record<string, { src: string; snapshot: { context: { owner?: unknown } } }> };
  assert.equal(snap.context.uid, stored.uid);
  const instances = Object.values(snap.children).filter((c) => c.src === 'instance');
  assert.ok(instances.length >= 2);
  for (const c of instances) assert.deepEqual(c.snapshot.context.owner, { uid: stored.uid, generation: 1 });
  assert.equal(read.migratedFrom, 1);
});

test('an unknown version or an unreadable snapshot is refused with a reason, not dropped', () => {
  const raw = JSON.parse(readFileSync(join(dir, 'agent.v1.json'), 'utf8')) as object;
  const newer = readEnvelope('agent', { machineId: 'agent', version: MACHINE_VERSIONS.agent + 1, observedGeneration: 1, savedAt: '', snapshot: raw });
  assert.equal(newer.kind, 'incompatible');
  assert.match((newer as { reason: string }).reason, /newer than this operator/);
  const older = readEnvelope('failover', { machineId: 'failover', version: 0, observedGeneration: 1, savedAt: '', snapshot: raw });
  assert.match((older as { reason: string }).reason, /no migration from 0/);
  assert.match((readEnvelope('cluster', 'garbage') as { reason: string }).reason, /not a cluster snapshot envelope/);
  assert.match((readEnvelope('cluster', { machineId: 'cluster', version: 1, snapshot: null }) as { reason: string }).reason, /not a cluster snapshot envelope/);
});

// --- rolling updates (v4, ADR 0026) ---
test('a cluster v3 snapshot restores with its image watcher running and its configuration taken as applied', () => {
  const raw = JSON.parse(readFileSync(join(dir, 'cluster.v3.json'), 'utf8')) as unknown;
  const read = readEnvelope('cluster', { machineId: 'cluster', version: 3, observedGeneration: 1, savedAt: '2026-01-01T00:00:00.000Z', snapshot: raw }, stored);
  assert.equal(read.kind, 'ok');
  if (read.kind !== 'ok') return;
  let watching = 0;
  const machine = fakeCluster().machine.provide({ actors: { watchImage: fromCallback(() => { watching++; }) } });
  const actor = createActor(machine, { snapshot: JSON.parse(JSON.stringify(read.envelope.snapshot)) as never, input: undefined as never }).start();
  const s = actor.getSnapshot();
  assert.equal(s.status, 'active');
  assert.equal(watching, 1, 'the restored cluster watches its image');
  assert.equal(s.context.rollout.appliedGeneration, s.context.generation);
  assert.ok(s.matches('ready'), 'no reconfiguration or rollout is started by the migration itself');
  actor.stop();
});
