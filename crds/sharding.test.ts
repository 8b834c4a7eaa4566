import { test } from 'node:test';
import assert from 'node:assert/strict';
import { admit, AdmissionError } from './admission.js';
import type { PostgresClusterSpec } from './postgrescluster.js';
import { evenKeyRanges, shardName, shardClusterName, shardsOf, parseShard } from './sharding.js';

const NAME_RE = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const cluster = (spec: unknown, name = 'shop') => ({ apiVersion: 'postgres.keiailab.io/v1alpha1', kind: 'PostgresCluster', metadata: { name }, spec });
const sharding = (s: Record<string, unknown>) => ({
  instances: 2, sharding: { shards: 2, tableGroups: [{ name: 'orders', vindex: { type: 'hash', column: 'customer_id' }, tables: ['orders', 'order_items'] }], referenceTables: ['countries'], ...s },
});

function refused(obj: unknown, old?: ReturnType<typeof admit>): AdmissionError {
  try { admit(obj, old); } catch (e) { if (e instanceof AdmissionError) return e; throw e; }
  assert.fail('admitted');
}

test('the manifest of the issue is admitted with defaults', () => {
  const r = admit(cluster(sharding({})));
  const s = (r.spec as PostgresClusterSpec).sharding;
  assert.equal(s?.shards, 2);
  assert.equal(s?.tableGroups[0]?.vindex.columnType, 'integer');
});

test('shard ranges and names: Vitess key ranges, clusters named <cluster>-<lo>-<hi>, all valid DNS labels', () => {
  assert.deepEqual(evenKeyRanges(2).map(shardName), ['-80', '80-']);
  assert.deepEqual(evenKeyRanges(4).map(shardName), ['-40', '40-80', '80-c0', 'c0-']);
  assert.deepEqual(shardsOf('shop', { shards: 2, tableGroups: [] }).map((s) => s.cluster), ['shop-min-80', 'shop-80-max']);
  assert.equal(shardClusterName('shop', '80-c0'), 'shop-80-c0');
  for (const n of [2, 4, 8, 16, 32, 64, 128, 256]) {
    const ranges = evenKeyRanges(n);
    assert.equal(ranges.length, n);
    for (const [i, r] of ranges.entries()) {
      if (i > 0) assert.equal(r.start, ranges[i - 1]?.end, 'contiguous');
      const child = shardClusterName('a'.repeat(43), shardName(r));
      assert.ok(child.length <= 50 && NAME_RE.test(child), `${child} is a valid cluster name`);
      assert.deepEqual(parseShard(shardName(r)), r);
    }
  }
  assert.throws(() => evenKeyRanges(3), /power of two/);
  assert.throws(() => shardClusterName('shop', '8-'), /key range/);
});

test('bad sharding specs are refused naming the field', () => {
  const fields = (e: AdmissionError) => e.causes.map((c) => `${c.field}: ${c.message}`).join('\n');
  assert.match(fields(refused(cluster(sharding({ shards: 3 })))), /spec\.sharding\.shards: must be a power of two/);
  assert.match(fields(refused(cluster(sharding({ shards: 512 })))), /spec\.sharding\.shards/);
  assert.match(fields(refused(cluster(sharding({ tableGroups: [{ name: 'orders', vindex: { column: 'customer_id' }, tables: ['Orders; drop'] }] })))), /spec\.sharding\.tableGroups\[0\]\.tables\[0\]: must be a lower-case unquoted SQL identifier/);
  assert.match(fields(refused(cluster(sharding({ tableGroups: [{ name: 'Orders', vindex: { column: 'customer_id' }, tables: ['orders'] }] })))), /spec\.sharding\.tableGroups\[0\]\.name/);
  assert.match(fields(refused(cluster(sharding({ tableGroups: [{ name: 'orders', vindex: { column: 'id"x' }, tables: ['orders'] }] })))), /spec\.sharding\.tableGroups\[0\]\.vindex\.column/);
  const dupGroups = fields(refused(cluster(sharding({ tableGroups: [
    { name: 'orders', vindex: { column: 'customer_id' }, tables: ['orders'] }, { name: 'orders', vindex: { column: 'customer_id' }, tables: ['items'] }] }))));
  assert.match(dupGroups, /spec\.sharding\.tableGroups: table group names must be unique/);
  const twoGroups = fields(refused(cluster(sharding({ tableGroups: [
    { name: 'orders', vindex: { column: 'customer_id' }, tables: ['orders'] }, { name: 'items', vindex: { column: 'customer_id' }, tables: ['orders'] }] }))));
  assert.match(twoGroups, /a table may belong to one table group only/);
  assert.match(twoGroups, /spec\.sharding\.tableGroups\[1\]\.tables\[0\]: table "orders" is already in table group "orders"/);
  const ref = fields(refused(cluster(sharding({ referenceTables: ['orders'] }))));
  assert.match(ref, /spec\.sharding\.referenceTables: a reference table cannot also be a distributed table/);
  assert.match(ref, /spec\.sharding\.referenceTables\[0\]: table "orders" is distributed in table group "orders"/);
  assert.match(fields(refused(cluster(sharding({}), 'a'.repeat(44)))), /metadata\.name: metadata\.name of a sharded cluster must be at most 43/);
});

test('sharding cannot be added, removed or resized by an edit', () => {
  const old = admit(cluster(sharding({})));
  const stored = { ...old, metadata: { ...old.metadata, uid: 'u', generation: 1 } };
  assert.match(refused(cluster(sharding({ shards: 4 })), stored).message, /spec\.sharding\.shards: is immutable/);
  assert.match(refused(cluster({ instances: 2 }), stored).message, /spec\.sharding: cannot be added to or removed/);
  const plain = admit(cluster({ instances: 2 }));
  assert.match(refused(cluster(sharding({})), plain).message, /spec\.sharding: cannot be added/);
  assert.doesNotThrow(() => admit(cluster(sharding({ referenceTables: ['countries', 'currencies'] })), stored));
});
