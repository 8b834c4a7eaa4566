import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createActor } from 'xstate';
import { fakeCluster, spec, settle, readyCluster } from '../../tests/fixtures/cluster-fakes.js';
import { primaryUp, replicaUp, bootstrapping, down, bootstrapFailed } from '../../tests/fixtures/observations.js';
import { selectStatus, selectPhase } from './cluster.selectors.js';

test('a 3-instance cluster bootstraps the primary, clones replicas one by one and becomes Ready', async () => {
  const { actor, log } = await readyCluster(3);
  assert.equal(selectPhase(actor.getSnapshot()), 'Ready');
  assert.deepEqual(log.calls, [
    'provision demo', 'create demo-1 initdb',
    'reserveSlot demo-2 on demo-1', 'create demo-2 clone',
    'reserveSlot demo-3 on demo-1', 'create demo-3 clone',
  ]);
  const status = selectStatus(actor.getSnapshot());
  assert.equal(status.currentPrimary, 'demo-1');
  assert.equal(status.readyInstances, 3);
  assert.equal(status.timeline, 1);
  assert.deepEqual(status.instances.map((i) => [i.name, i.role, i.ready, i.lagBytes]), [
    ['demo-1', 'primary', true, 0], ['demo-2', 'replica', true, 0x60], ['demo-3', 'replica', true, 0x60],
  ]);
  assert.deepEqual(status.conditions.map((c) => [c.type, c.status]), [['Ready', 'True'], ['Progressing', 'False'], ['Degraded', 'False'], ['SafeFailoverCandidate', 'True']]);
});

test('a second replica is not created before the first one streams', async () => {
  const { machine, log } = fakeCluster();
  const actor = createActor(machine, { input: { namespace: 'default', name: 'demo', uid: 'uid-demo', spec: spec(3), generation: 1 } }).start();
  await settle();
  actor.send({ type: 'instance.reported', instance: 'demo-1', observation: primaryUp() });
  await settle();
  actor.send({ type: 'instance.reported', instance: 'demo-2', observation: bootstrapping() });
  await settle();
  assert.ok(!log.calls.some((c) => c.includes('demo-3')));
  assert.equal(selectPhase(actor.getSnapshot()), 'Provisioning');
  assert.match(selectStatus(actor.getSnapshot()).phaseReason, /cloning demo-2/);
});

test('losing a replica degrades the cluster and its return makes it Ready again', async () => {
  const { actor } = await readyCluster(3);
  actor.send({ type: 'instance.lost', instance: 'demo-3', reason: 'agent exited' });
  assert.equal(selectPhase(actor.getSnapshot()), 'Degraded');
  const status = selectStatus(actor.getSnapshot());
  assert.match(status.phaseReason, /demo-3 lost \(agent exited\)/);
  assert.deepEqual(status.conditions.find((c) => c.type === 'Degraded')?.status, 'True');
  actor.send({ type: 'instance.reported', instance: 'demo-3', observation: replicaUp() });
  assert.equal(selectPhase(actor.getSnapshot()), 'Ready');
});

test('a replica that stops streaming counts as lost', async () => {
  const { actor } = await readyCluster(2);
  actor.send({ type: 'instance.reported', instance: 'demo-2', observation: down() });
  assert.equal(selectPhase(actor.getSnapshot()), 'Degraded');
});

test('scale down removes the newest replica, never the primary, and releases its slot', async () => {
  const { actor, log } = await readyCluster(3);
  log.calls.length = 0;
  actor.send({ type: 'spec.changed', spec: spec(1), generation: 2 });
  await settle(); await settle(); await settle();
  await settle(); await settle(); await settle();
  // Then the new spec's configuration reaches the instances left (reload in place; ADR 0026).
  assert.deepEqual(log.calls, ['remove demo-3', 'releaseSlot demo-3', 'remove demo-2', 'releaseSlot demo-2', 'configure demo']);
  assert.equal(selectPhase(actor.getSnapshot()), 'Ready');
  assert.deepEqual(actor.getSnapshot().context.members.map((m) => m.name), ['demo-1']);
  assert.equal(actor.getSnapshot().children['demo-3'], undefined);
});

test('scale up after scale down uses a new name, never reusing a removed one', async () => {
  const { actor, log } = await readyCluster(3);
  actor.send({ type: 'spec.changed', spec: spec(2), generation: 2 });
  for (let i = 0; i < 6; i++) await settle();
  log.calls.length = 0;
  actor.send({ type: 'spec.changed', spec: spec(3), generation: 3 });
  await settle();
  assert.deepEqual(log.calls, ['reserveSlot demo-4 on demo-1', 'create demo-4 clone']);
  assert.equal(selectPhase(actor.getSnapshot()), 'Scaling');
  actor.send({ type: 'instance.reported', instance: 'demo-4', observation: replicaUp() });
  await settle();
  assert.equal(selectPhase(actor.getSnapshot()), 'Ready');
  assert.equal(selectStatus(actor.getSnapshot()).observedGeneration, 3);
});

test('a primary that fails to bootstrap fails the cluster with the reason', async () => {
  const { machine } = fakeCluster();
  const actor = createActor(machine, { input: { namespace: 'default', name: 'demo', uid: 'uid-demo', spec: spec(2), generation: 1 } }).start();
  await settle();
  actor.send({ type: 'instance.reported', instance: 'demo-1', observation: bootstrapFailed('initdb: invalid locale "xx"') });
  assert.equal(selectPhase(actor.getSnapshot()), 'Failed');
  assert.match(selectStatus(actor.getSnapshot()).phaseReason, /demo-1 failed to bootstrap: initdb: invalid locale "xx"/);
});

test('a failed provisioning is retried by the next spec change', async () => {
  const { machine, log } = fakeCluster();
  log.failProvision = true;
  const actor = createActor(machine, { input: { namespace: 'default', name: 'demo', uid: 'uid-demo', spec: spec(1), generation: 1 } }).start();
  await settle();
  assert.equal(selectPhase(actor.getSnapshot()), 'Failed');
  log.failProvision = false;
  actor.send({ type: 'spec.changed', spec: spec(1), generation: 2 });
  await settle();
  assert.ok(actor.getSnapshot().matches('bootstrappingPrimary'));
});

test('deletion deprovisions and ends the machine', async () => {
  const { actor, log } = await readyCluster(2);
  actor.send({ type: 'cluster.deleted' });
  assert.equal(selectPhase(actor.getSnapshot()), 'Deleting');
  await settle();
  assert.equal(actor.getSnapshot().status, 'done');
  assert.ok(log.calls.includes('deprovision demo'));
});

test('a persisted snapshot restores with its children and keeps going', async () => {
  const { actor, machine } = await (async () => { const r = await readyCluster(2); return { ...r, machine: fakeCluster().machine }; })();
  const persisted = actor.getPersistedSnapshot();
  actor.stop();
  const restored = createActor(machine, { snapshot: JSON.parse(JSON.stringify(persisted)), input: { namespace: 'default', name: 'demo', uid: 'uid-demo', spec: spec(2), generation: 1 } }).start();
  assert.equal(selectPhase(restored.getSnapshot()), 'Ready');
  restored.send({ type: 'instance.lost', instance: 'demo-2', reason: 'gone' });
  assert.equal(selectPhase(restored.getSnapshot()), 'Degraded');
  assert.equal(selectStatus(restored.getSnapshot()).instances[1]?.phase, 'lost');
});

test('restored between an instance\'s move and the cluster\'s record of it, the next observation reconciles the two', async () => {
  const { actor } = await readyCluster(3);
  const persisted = JSON.parse(JSON.stringify(actor.getPersistedSnapshot())) as { children: Record<string, { snapshot: { value: string } }> };
  actor.stop();
  // Saved the moment the primary's machine entered `lost`, before the cluster stored that phase.
  const child = persisted.children['demo-1'];
  assert.ok(child, 'the primary instance is a persisted child');
  child.snapshot.value = 'lost';
  const restored = createActor(fakeCluster().machine, { snapshot: persisted as never, input: { namespace: 'default', name: 'demo', uid: 'uid-demo', spec: spec(3), generation: 1 } }).start();
  assert.equal(selectPhase(restored.getSnapshot()), 'Ready', 'the cluster\'s own record still says running');
  restored.send({ type: 'instance.lost', instance: 'demo-1', reason: 'instance gone', gone: true });
  assert.equal(selectPhase(restored.getSnapshot()), 'FailingOver', 'the lost primary is failed over, not waited for');
});
