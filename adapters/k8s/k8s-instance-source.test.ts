import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createActor } from 'xstate';
import { fakeCluster, spec, settle } from '../../tests/fixtures/cluster-fakes.js';
import { primaryUp, replicaUp, bootstrapping } from '../../tests/fixtures/observations.js';
import { recreatable } from './k8s-instance-source.js';

async function ready(instances: number) {
  const actor = createActor(fakeCluster().machine, { input: { namespace: 'default', name: 'demo', spec: spec(instances), generation: 1 } }).start();
  await settle();
  actor.send({ type: 'instance.reported', instance: 'demo-1', observation: primaryUp() });
  for (let i = 2; i <= instances; i++) {
    await settle();
    actor.send({ type: 'instance.reported', instance: `demo-${i}`, observation: bootstrapping() });
    actor.send({ type: 'instance.reported', instance: `demo-${i}`, observation: replicaUp() });
  }
  await settle();
  return actor;
}

test('a deleted primary Pod is not recreated while running replicas can replace it; replicas always are', async () => {
  const actor = await ready(3);
  assert.deepEqual(recreatable(actor.getSnapshot(), 0, 60_000), ['demo-2', 'demo-3']);
  assert.deepEqual(recreatable(actor.getSnapshot(), 61_000, 60_000), ['demo-1', 'demo-2', 'demo-3'], 'after the grace period it comes back anyway');
});

test('a primary nothing can replace comes back at once', async () => {
  const actor = await ready(1);
  assert.deepEqual(recreatable(actor.getSnapshot(), 0, 60_000), ['demo-1']);
});
