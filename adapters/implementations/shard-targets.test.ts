import { test } from 'node:test';
import assert from 'node:assert/strict';
import { resolveTargets, targetsOf, mostBehind } from './shard-targets.js';
import type { Resource } from '../../crds/definition.js';

const ref = { namespace: 'default', name: 'shop' };
const cluster = (name: string, status: Record<string, unknown>, spec: Record<string, unknown> = { instances: 2 }): Resource =>
  ({ apiVersion: 'postgres.keiailab.io/v1alpha1', kind: 'PostgresCluster', metadata: { name, namespace: 'default' }, spec, status });
const sharding = { shards: 2, tableGroups: [{ name: 'orders', vindex: { type: 'hash', column: 'customer_id', columnType: 'integer' }, tables: ['orders'] }] };
const store = (objs: Resource[]) => ({
  get: async (k: { name: string }) => objs.find((o) => o.metadata.name === k.name),
  list: async () => objs,
});

test('a sharded cluster targets every shard primary, and waits naming the shard that cannot take changes', async () => {
  const parent = cluster('shop', { phase: 'Ready' }, { instances: 2, sharding });
  const a = cluster('shop-min-80', { phase: 'Ready', currentPrimary: 'shop-min-80-1' });
  const b = cluster('shop-80-max', { phase: 'Ready', currentPrimary: 'shop-80-max-2' });
  const t = await resolveTargets(store([parent, a, b]), ref);
  assert.deepEqual(t, { ready: true, primary: 'shop-min-80/shop-min-80-1,shop-80-max/shop-80-max-2' });
  assert.deepEqual(targetsOf(ref, t.ready ? t.primary : ''), [
    { cluster: { namespace: 'default', name: 'shop-min-80' }, instance: 'shop-min-80-1' },
    { cluster: { namespace: 'default', name: 'shop-80-max' }, instance: 'shop-80-max-2' },
  ]);
  const failing = await resolveTargets(store([parent, a, cluster('shop-80-max', { phase: 'FailingOver', currentPrimary: 'shop-80-max-2' })]), ref);
  assert.equal(failing.ready, false);
  assert.match(failing.ready ? '' : failing.reason, /^shard 80- of shop: cluster shop-80-max is FailingOver/);
  const missing = await resolveTargets(store([parent, a]), ref);
  assert.match(missing.ready ? '' : missing.reason, /shard 80- of shop: cluster not found/);
});

test('an unsharded cluster keeps its single primary; the shard needing most work is planned from', async () => {
  const t = await resolveTargets(store([cluster('shop', { phase: 'Ready', currentPrimary: 'shop-1' })]), ref);
  assert.deepEqual(t, { ready: true, primary: 'shop-1' });
  assert.deepEqual(targetsOf(ref, 'shop-1'), [{ cluster: ref, instance: 'shop-1' }]);
  assert.equal(mostBehind([{ n: 0 }, { n: 2 }, { n: 1 }], (o) => o.n).n, 2);
  assert.throws(() => targetsOf(ref, 'a/,b/c'), /malformed/);
});
