// The sharded path of the cluster machine, with fake effects: it creates its shards, reports Ready only when every
// shard is, re-applies on a spec change, retries a failed apply, and deletes its shards before it goes.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createActor, fromPromise, fromCallback, type AnyEventObject } from 'xstate';
import { fakeCluster, spec, settle } from '../../tests/fixtures/cluster-fakes.js';
import type { ShardsEffectInput, ShardObservation } from './cluster.types.js';
import { selectStatus } from './cluster.selectors.js';
import { desiredShardObjects } from './shards.logic.js';

const sharding = { shards: 2, tableGroups: [{ name: 'orders', vindex: { type: 'hash' as const, column: 'customer_id', columnType: 'integer' as const }, tables: ['orders'] }] };

function shardedCluster(failApply = 0) {
  const calls: string[] = [];
  let failures = failApply;
  const retry: { fire?: () => void } = {};
  const { machine } = fakeCluster();
  const m = machine.provide({
    actors: {
      applyShards: fromPromise<void, ShardsEffectInput>(async ({ input }) => {
        calls.push(`apply ${input.cluster.name} gen shards=${input.spec.sharding?.shards} instances=${input.spec.instances}`);
        if (failures-- > 0) throw new Error('store unavailable');
      }),
      watchShards: fromCallback<AnyEventObject, ShardsEffectInput>(() => { calls.push('watch'); return () => undefined; }),
      deleteShards: fromPromise<void, ShardsEffectInput>(async ({ input }) => { calls.push(`delete ${input.cluster.name}`); }),
      waitToRetry: fromCallback<AnyEventObject, ShardsEffectInput>(({ sendBack }) => { retry.fire = () => sendBack({ type: 'shards.retry' }); return () => undefined; }),
    },
  });
  const actor = createActor(m, { input: { namespace: 'default', name: 'shop', uid: 'uid-shop', spec: spec(2, { sharding }), generation: 1 } }).start();
  return { actor, calls, retry };
}

const obs = (phases: string[]): ShardObservation[] => phases.map((phase, i) => ({ shard: i === 0 ? '-80' : '80-', cluster: i === 0 ? 'shop-min-80' : 'shop-80-max', phase, readyInstances: phase === 'Ready' ? 2 : 0 }));

test('a sharded cluster creates its shards instead of instances and is Ready when every shard is', async () => {
  const { actor, calls } = shardedCluster();
  await settle();
  assert.deepEqual(actor.getSnapshot().value, { sharded: 'observing' });
  assert.ok(calls.includes('apply shop gen shards=2 instances=2'));
  assert.ok(!calls.some((c) => c.startsWith('provision') || c.startsWith('create')), 'no instance of its own');
  actor.send({ type: 'shards.observed', shards: obs(['Ready', 'Provisioning']) });
  let s = selectStatus(actor.getSnapshot());
  assert.equal(s.phase, 'Provisioning');
  assert.equal(s.shardsReady, '1/2');
  actor.send({ type: 'shards.observed', shards: obs(['Ready', 'Ready']) });
  s = selectStatus(actor.getSnapshot());
  assert.equal(s.phase, 'Ready');
  assert.equal(s.shardsReady, '2/2');
  assert.equal(s.readyInstances, 4);
  assert.deepEqual(s.shards?.map((x) => x.cluster), ['shop-min-80', 'shop-80-max']);
  actor.send({ type: 'shards.observed', shards: obs(['Ready', 'FailingOver']) });
  s = selectStatus(actor.getSnapshot());
  assert.equal(s.phase, 'Degraded');
  assert.match(s.phaseReason, /1 of 2 shards ready; 80- FailingOver/);
  actor.stop();
});

test('a spec change is applied to the shards again; a failed apply is retried', async () => {
  const { actor, calls, retry } = shardedCluster(1);
  await settle();
  assert.deepEqual(actor.getSnapshot().value, { sharded: 'retrying' });
  assert.match(selectStatus(actor.getSnapshot()).phaseReason, /store unavailable/);
  retry.fire?.();
  await settle();
  assert.deepEqual(actor.getSnapshot().value, { sharded: 'observing' });
  actor.send({ type: 'spec.changed', spec: spec(3, { sharding }), generation: 2 });
  await settle();
  assert.ok(calls.includes('apply shop gen shards=2 instances=3'));
  assert.deepEqual(actor.getSnapshot().value, { sharded: 'observing' });
  actor.stop();
});

test('deleting a sharded cluster deletes its shards first', async () => {
  const { actor, calls } = shardedCluster();
  await settle();
  actor.send({ type: 'cluster.deleted' });
  await settle();
  assert.ok(calls.includes('delete shop'));
  assert.equal(actor.getSnapshot().status, 'done');
});

test('desired objects: one cluster per shard with the parent spec minus sharding, one ShardRange per group', () => {
  const objs = desiredShardObjects({ namespace: 'ns', name: 'shop' }, spec(2, { sharding, storage: { size: '2Gi', retainOnDelete: false } }));
  assert.deepEqual(objs.map((o) => `${o.kind}/${o.metadata.name}`), ['PostgresCluster/shop-min-80', 'PostgresCluster/shop-80-max', 'ShardRange/shop-orders']);
  const child = objs[0]?.spec as Record<string, unknown>;
  assert.equal(child.sharding, undefined);
  assert.deepEqual(child.storage, { size: '2Gi', retainOnDelete: false });
  assert.equal(objs[0]?.metadata.labels?.['postgres.keiailab.io/shard'], 'min-80');
  assert.deepEqual((objs[2]?.spec as { ranges: unknown }).ranges, [{ start: '', end: '80', shard: '-80' }, { start: '80', end: '', shard: '80-' }]);
});
