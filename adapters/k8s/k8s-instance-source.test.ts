import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readyCluster } from '../../tests/fixtures/cluster-fakes.js';
import { recreatable } from './k8s-instance-source.js';

test('a deleted primary Pod is not recreated while running replicas can replace it; replicas always are', async () => {
  const { actor } = await readyCluster(3);
  assert.deepEqual(recreatable(actor.getSnapshot(), 0, 60_000), ['demo-2', 'demo-3']);
  assert.deepEqual(recreatable(actor.getSnapshot(), 61_000, 60_000), ['demo-1', 'demo-2', 'demo-3'], 'after the grace period it comes back anyway');
});

test('a primary nothing can replace comes back at once', async () => {
  const { actor } = await readyCluster(1);
  assert.deepEqual(recreatable(actor.getSnapshot(), 0, 60_000), ['demo-1']);
});
