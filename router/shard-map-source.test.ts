import { test } from 'node:test';
import assert from 'node:assert/strict';
import { shardingFromShardRanges, ShardMapError } from './shard-map-source.js';
import type { ShardRange } from '../crds/shardrange.js';

const range = (name: string, tables: string[], version: number | undefined, phase = 'Ready', shards: [string, string, string][] = [['80', '', '80-'], ['', '80', '-80']]): ShardRange => ({
  apiVersion: 'postgres.keiailab.io/v1alpha1', kind: 'ShardRange', metadata: { name },
  spec: { cluster: { name: 'shop' }, tableGroup: name, vindex: { type: 'hash', column: 'customer_id' }, tables, ranges: shards.map(([start, end, shard]) => ({ start, end, shard })) },
  status: { phase, ...(version ? { version } : {}) },
});
const eps = (shard: string) => ({ host: '127.0.0.1', port: shard === '-80' ? 5001 : 5002, caFile: `/ca/${shard}.crt` });

test('ShardRanges become the router\'s sharding section: shards in key order, tables, highest version', () => {
  const s = shardingFromShardRanges([range('orders', ['orders', 'order_items'], 3), { ...range('users', ['users'], 5), spec: { ...range('users', ['users'], 5).spec, vindex: { type: 'hash', column: 'user_id', columnType: 'text' } } }], eps);
  assert.deepEqual(s, {
    generation: 5,
    shards: [
      { name: '-80', host: '127.0.0.1', port: 5001, tls: { caFile: '/ca/-80.crt', servername: '127.0.0.1' } },
      { name: '80-', host: '127.0.0.1', port: 5002, tls: { caFile: '/ca/80-.crt', servername: '127.0.0.1' } },
    ],
    tables: { orders: { column: 'customer_id', type: 'integer' }, order_items: { column: 'customer_id', type: 'integer' }, users: { column: 'user_id', type: 'text' } },
  });
});

test('nothing until every ShardRange is Ready and every shard has an endpoint; disagreeing placements are refused', () => {
  assert.equal(shardingFromShardRanges([], eps), null);
  assert.equal(shardingFromShardRanges([range('orders', ['orders'], undefined, 'WaitingForShards')], eps), null);
  assert.equal(shardingFromShardRanges([range('orders', ['orders'], 1)], (s) => (s === '-80' ? eps(s) : undefined)), null);
  assert.throws(() => shardingFromShardRanges([range('orders', ['orders'], 1), range('users', ['users'], 1, 'Ready', [['', '40', '-40'], ['40', '', '40-']])], eps), ShardMapError);
});

test('an endpoint that names its certificate name is verified by it, not by its address', () => {
  const s = shardingFromShardRanges([range('orders', ['orders'], 1)], (shard) => ({ host: '10.0.0.7', port: 5432, caFile: shard, servername: `shop${shard}-r.default.svc` }));
  assert.deepEqual(s?.shards.map((x) => x.tls.servername), ['shop-80-r.default.svc', 'shop80--r.default.svc']);
});
