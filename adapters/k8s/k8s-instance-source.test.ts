import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readyCluster } from '../../tests/fixtures/cluster-fakes.js';
import { recreatable, roleLabelsFor } from './k8s-instance-source.js';

test('a deleted primary Pod is not recreated while running replicas can replace it; replicas always are', async () => {
  const { actor } = await readyCluster(3);
  assert.deepEqual(recreatable(actor.getSnapshot(), 0, 60_000), ['demo-2', 'demo-3']);
  assert.deepEqual(recreatable(actor.getSnapshot(), 61_000, 60_000), ['demo-1', 'demo-2', 'demo-3'], 'after the grace period it comes back anyway');
});

test('replicas lost only because they stopped streaming from the deleted primary still hold its Pod back for the failover', async () => {
  const { actor } = await readyCluster(3);
  try {
    actor.send({ type: 'instance.lost', instance: 'demo-1', reason: 'agent not answering', gone: false });
    for (const n of ['demo-2', 'demo-3']) actor.send({ type: 'instance.lost', instance: n, reason: 'postgres runs as a replica but does not stream', gone: false });
    assert.deepEqual(recreatable(actor.getSnapshot(), 0, 60_000), ['demo-2', 'demo-3']);
    // With the replicas' Pods gone as well (a whole-platform restart) nobody can take over: the primary comes back first.
    for (const n of ['demo-2', 'demo-3']) actor.send({ type: 'instance.lost', instance: n, reason: 'instance gone', gone: true });
    assert.deepEqual(recreatable(actor.getSnapshot(), 0, 60_000), ['demo-1', 'demo-2', 'demo-3']);
  } finally { actor.stop(); }
});

test('a primary nothing can replace comes back at once', async () => {
  const { actor } = await readyCluster(1);
  assert.deepEqual(recreatable(actor.getSnapshot(), 0, 60_000), ['demo-1']);
});

test('role labels come from the cluster\'s primary record: the lost primary is unlabelled while failed over, the promoted one leads', async () => {
  const { actor } = await readyCluster(3);
  const pods = ['demo-1', 'demo-2', 'demo-3'];
  assert.deepEqual(roleLabelsFor(actor.getSnapshot(), pods), { 'demo-1': 'primary', 'demo-2': 'replica', 'demo-3': 'replica' });
  actor.send({ type: 'instance.lost', instance: 'demo-1', reason: 'instance gone', gone: true });
  assert.ok(actor.getSnapshot().matches('failingOver'));
  assert.deepEqual(roleLabelsFor(actor.getSnapshot(), pods), { 'demo-1': null, 'demo-2': 'replica', 'demo-3': 'replica' }, 'nobody is primary until one is promoted');
  actor.send({ type: 'failover.promoted', instance: 'demo-2', timeline: 2 });
  assert.deepEqual(roleLabelsFor(actor.getSnapshot(), pods), { 'demo-1': 'replica', 'demo-2': 'primary', 'demo-3': 'replica' });
});

test('fenced and hibernating instances get no Pod back and lose their role label (ADR 0028)', async () => {
  const { actor } = await readyCluster(3);
  try {
    const pods = ['demo-1', 'demo-2', 'demo-3'];
    actor.send({ type: 'fencing.requested', annotation: '["demo-2"]' });
    assert.deepEqual(recreatable(actor.getSnapshot(), 61_000, 60_000), ['demo-1', 'demo-3']);
    assert.deepEqual(roleLabelsFor(actor.getSnapshot(), pods), { 'demo-1': 'primary', 'demo-2': null, 'demo-3': 'replica' });
    actor.send({ type: 'hibernation.requested', annotation: 'on' });
    assert.deepEqual(recreatable(actor.getSnapshot(), 61_000, 60_000), []);
    for (const n of pods) actor.send({ type: 'instance.lost', instance: n, reason: 'pod deleted', gone: true });
    actor.send({ type: 'hibernation.requested', annotation: 'off' });
    assert.deepEqual(recreatable(actor.getSnapshot(), 0, 60_000), ['demo-1'], 'the same primary first, at once');
  } finally { actor.stop(); }
});
