// Hibernation and fencing in the cluster machine (ADR 0028), driven with fake effects. Every actor is stopped
// at the end of its test: nothing here may keep the unit tier's event loop alive.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createActor, fromPromise } from 'xstate';
import { fakeCluster, readyCluster, spec, settle } from '../../tests/fixtures/cluster-fakes.js';
import { primaryUp, replicaUp, down } from '../../tests/fixtures/observations.js';
import { selectPhase, selectStatus } from './cluster.selectors.js';
import { selectStoppedInstances } from './power.selectors.js';
import { selectRoutes } from './routes.js';
import type { FailoverInput, PlanOutput } from '../failover/failover.types.js';

const gone = (instance: string) => ({ type: 'instance.lost' as const, instance, reason: 'instance gone (agent and postgres not running)', gone: true });
const replicaObs = () => ({ role: 'replica', ready: true });

test('hibernation stops every instance primary first, ignores their loss, and wakes the same primary first', async () => {
  const { actor } = await readyCluster(3);
  try {
    actor.send({ type: 'hibernation.requested', annotation: 'on' });
    assert.equal(selectPhase(actor.getSnapshot()), 'Hibernating');
    assert.deepEqual(selectStoppedInstances(actor.getSnapshot()), ['demo-1', 'demo-2', 'demo-3'], 'primary first');
    assert.deepEqual(selectRoutes(actor.getSnapshot(), replicaObs), { readWrite: null, readOnly: [] });
    // The primary stops first; its lease runs out. No failover: the loss was asked for.
    actor.send(gone('demo-1'));
    actor.send({ type: 'lease.observed', holder: null, at: '2026-01-01T00:00:00Z' });
    assert.equal(selectPhase(actor.getSnapshot()), 'Hibernating');
    actor.send(gone('demo-2'));
    actor.send(gone('demo-3'));
    assert.equal(selectPhase(actor.getSnapshot()), 'Hibernated');
    const hib = selectStatus(actor.getSnapshot()).conditions.find((c) => c.type === 'Hibernated');
    assert.equal(hib?.status, 'True');

    actor.send({ type: 'hibernation.requested', annotation: 'off' });
    assert.equal(selectPhase(actor.getSnapshot()), 'Waking');
    assert.deepEqual(selectStoppedInstances(actor.getSnapshot()), ['demo-2', 'demo-3'], 'replicas wait for the primary');
    actor.send({ type: 'instance.reported', instance: 'demo-1', observation: primaryUp() });
    assert.deepEqual(selectStoppedInstances(actor.getSnapshot()), []);
    assert.equal(selectPhase(actor.getSnapshot()), 'Degraded');
    assert.equal(actor.getSnapshot().context.currentPrimary, 'demo-1');
    actor.send({ type: 'instance.reported', instance: 'demo-2', observation: replicaUp() });
    actor.send({ type: 'instance.reported', instance: 'demo-3', observation: replicaUp() });
    assert.equal(selectPhase(actor.getSnapshot()), 'Ready');
    assert.equal(actor.getSnapshot().context.history.length, 0, 'no failover ran');
  } finally { actor.stop(); }
});

test('spec.hibernation hibernates too; a valid annotation wins over it and a bad one is reported', async () => {
  const { actor } = await readyCluster(2);
  try {
    actor.send({ type: 'spec.changed', spec: spec(2, { hibernation: 'on' }), generation: 2 });
    // A new generation first goes through the configuration reload (ADR 0026), then hibernation takes over.
    await settle();
    assert.equal(selectPhase(actor.getSnapshot()), 'Hibernating');
    actor.send({ type: 'hibernation.requested', annotation: 'off' });
    assert.equal(selectPhase(actor.getSnapshot()), 'Ready', 'nothing had stopped yet: awake at once');
    actor.send({ type: 'hibernation.requested', annotation: 'sleep' });
    assert.equal(selectPhase(actor.getSnapshot()), 'Hibernating', 'a bad annotation does not decide: spec.hibernation does');
    const c = selectStatus(actor.getSnapshot()).conditions.find((x) => x.type === 'Hibernated');
    assert.equal(c?.reason, 'InvalidAnnotation');
    assert.match(c?.message ?? '', /postgres\.keiailab\.io\/hibernation must be "on" or "off"/);
  } finally { actor.stop(); }
});

test('a fenced replica is stopped, leaves the routes, and lifting the fence brings it back', async () => {
  const { actor } = await readyCluster(3);
  try {
    actor.send({ type: 'fencing.requested', annotation: '["demo-2"]' });
    assert.deepEqual(actor.getSnapshot().context.fencedInstances, ['demo-2']);
    assert.deepEqual(selectStoppedInstances(actor.getSnapshot()), ['demo-2']);
    assert.deepEqual(selectRoutes(actor.getSnapshot(), replicaObs), { readWrite: 'demo-1', readOnly: ['demo-3'] });
    const fenced = selectStatus(actor.getSnapshot()).conditions.find((c) => c.type === 'Fenced');
    assert.equal(fenced?.status, 'True');
    assert.match(fenced?.message ?? '', /demo-2/);
    actor.send(gone('demo-2'));
    assert.equal(selectPhase(actor.getSnapshot()), 'Degraded');

    actor.send({ type: 'fencing.requested', annotation: null });
    assert.deepEqual(selectStoppedInstances(actor.getSnapshot()), []);
    actor.send({ type: 'instance.reported', instance: 'demo-2', observation: replicaUp() });
    assert.equal(selectPhase(actor.getSnapshot()), 'Ready');
    assert.deepEqual(selectRoutes(actor.getSnapshot(), replicaObs).readOnly, ['demo-2', 'demo-3']);
    assert.equal(selectStatus(actor.getSnapshot()).conditions.find((c) => c.type === 'Fenced')?.status, undefined, 'annotation removed: condition gone');
  } finally { actor.stop(); }
});

test('bad fenced-instances content is a condition naming the annotation and the fix, and keeps the last list', async () => {
  const { actor } = await readyCluster(2);
  try {
    actor.send({ type: 'fencing.requested', annotation: '["demo-2"]' });
    for (const bad of ['demo-2', '{"a":1}', '["demo-9"]', '["*","demo-2"]', '[1]']) {
      actor.send({ type: 'fencing.requested', annotation: bad });
      const s = actor.getSnapshot();
      assert.deepEqual(s.context.fencedInstances, ['demo-2'], `kept after ${bad}`);
      const c = selectStatus(s).conditions.find((x) => x.type === 'Fenced');
      assert.equal(c?.reason, 'InvalidAnnotation', bad);
      assert.match(c?.message ?? '', /postgres\.keiailab\.io\/fenced-instances/);
      assert.match(c?.message ?? '', /JSON array of this cluster's instance names/);
    }
    actor.send({ type: 'fencing.requested', annotation: '["*"]' });
    assert.deepEqual(selectStoppedInstances(actor.getSnapshot()), ['demo-1', 'demo-2']);
    assert.equal(selectRoutes(actor.getSnapshot(), replicaObs).readWrite, null);
  } finally { actor.stop(); }
});

test('a failover while a replica is fenced never offers it as a candidate', async () => {
  const inputs: FailoverInput[] = [];
  const { machine } = fakeCluster();
  const withPlan = machine.provide({
    actors: {
      // Never settles: the plan's input is what this test is about (a finished plan would start the next at once).
      failover: fromPromise<PlanOutput, FailoverInput>(({ input }) => { inputs.push(input); return new Promise<PlanOutput>(() => undefined); }) as never,
    },
  });
  const actor = createActor(withPlan, { input: { namespace: 'default', name: 'demo', uid: 'uid-demo', spec: spec(3), generation: 1 } }).start();
  try {
    await settle();
    actor.send({ type: 'instance.reported', instance: 'demo-1', observation: primaryUp() });
    for (const n of ['demo-2', 'demo-3']) { await settle(); actor.send({ type: 'instance.reported', instance: n, observation: replicaUp() }); }
    await settle();
    assert.equal(selectPhase(actor.getSnapshot()), 'Ready');
    actor.send({ type: 'fencing.requested', annotation: '["demo-2"]' });
    actor.send({ type: 'lease.observed', holder: null, at: '2026-01-01T00:00:00Z' });
    actor.send(gone('demo-1'));
    assert.equal(selectPhase(actor.getSnapshot()), 'FailingOver');
    assert.deepEqual(inputs[0]?.replicas, ['demo-2', 'demo-3'], 'still repointed (slot, primary_conninfo)');
    assert.deepEqual(inputs[0]?.fenced, ['demo-2'], 'but never promoted');
  } finally { actor.stop(); }
});

test('a fenced primary is not failed over: it was stopped on purpose', async () => {
  const { actor } = await readyCluster(2);
  try {
    actor.send({ type: 'fencing.requested', annotation: '["demo-1"]' });
    actor.send({ type: 'lease.observed', holder: null, at: '2026-01-01T00:00:00Z' });
    actor.send(gone('demo-1'));
    assert.equal(selectPhase(actor.getSnapshot()), 'Degraded');
    actor.send({ type: 'instance.reported', instance: 'demo-2', observation: down() });
    assert.equal(selectPhase(actor.getSnapshot()), 'Degraded');
  } finally { actor.stop(); }
});

test('a hibernated snapshot restores as hibernated', async () => {
  const { actor } = await readyCluster(2);
  actor.send({ type: 'hibernation.requested', annotation: 'on' });
  actor.send(gone('demo-1'));
  actor.send(gone('demo-2'));
  const persisted = JSON.parse(JSON.stringify(actor.getPersistedSnapshot())) as never;
  actor.stop();
  const restored = createActor(fakeCluster().machine, { snapshot: persisted, input: { namespace: 'default', name: 'demo', uid: 'uid-demo', spec: spec(2), generation: 1 } }).start();
  try {
    assert.equal(selectPhase(restored.getSnapshot()), 'Hibernated');
    assert.deepEqual(selectStoppedInstances(restored.getSnapshot()), ['demo-1', 'demo-2']);
  } finally { restored.stop(); }
});

test('waking that outlasts the bounded wait reports WakeStalled naming the primary and why; it clears once the primary runs', async () => {
  const { actor } = await readyCluster(2, { provide: (m) => m.provide({ delays: { wakeStallTimeout: 20 } }) });
  try {
    actor.send({ type: 'hibernation.requested', annotation: 'on' });
    actor.send(gone('demo-1'));
    actor.send(gone('demo-2'));
    assert.equal(selectPhase(actor.getSnapshot()), 'Hibernated');
    actor.send({ type: 'hibernation.requested', annotation: 'off' });
    assert.equal(selectStatus(actor.getSnapshot()).conditions.find((c) => c.type === 'WakeStalled'), undefined, 'not before the wait is over');
    actor.send({ type: 'instance.reported', instance: 'demo-1', observation: down('primary') });
    // The delay is 20 ms here: wait for it to fire (no assertion on how long it took).
    for (let i = 0; i < 200 && !actor.getSnapshot().matches('wakeStalled'); i++) await new Promise((r) => setTimeout(r, 10));
    const s = actor.getSnapshot();
    assert.equal(selectPhase(s), 'Waking');
    assert.deepEqual(selectStoppedInstances(s), ['demo-2'], 'replicas still wait for the primary');
    const stalled = selectStatus(s).conditions.find((c) => c.type === 'WakeStalled');
    assert.equal(stalled?.status, 'True');
    assert.equal(stalled?.reason, 'PrimaryNotBack');
    assert.match(stalled?.message ?? '', /primary demo-1 has not come back \(phase \w+/);
    assert.match(stalled?.message ?? '', /hibernate again \(pgop local hibernate demo on\)/);
    actor.send({ type: 'instance.reported', instance: 'demo-1', observation: primaryUp() });
    assert.equal(selectStatus(actor.getSnapshot()).conditions.find((c) => c.type === 'WakeStalled'), undefined);
    assert.notEqual(selectPhase(actor.getSnapshot()), 'Waking');
  } finally { actor.stop(); }
});
