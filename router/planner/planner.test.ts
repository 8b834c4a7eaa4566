import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { PlanCache, loadParser } from './parse-cache.js';
import { buildShardingScheme } from './sharding-scheme.js';
import { route } from './route.js';
import { buildRoutingTable } from '../routing/routing-table.js';
import { evenRanges, shardName, keyspaceIdHex } from '../vindex/key-range.js';
import { integerKeyspaceId, textKeyspaceId } from '../vindex/hash-vindex.js';
import { shardForKeyspaceId } from '../routing/routing-table.js';

const scheme = buildShardingScheme({ orders: { column: 'customer_id', type: 'integer' }, users: { column: 'email', type: 'text' } });
const table = buildRoutingTable({ generation: 3, ranges: evenRanges(2).map((r) => ({ ...r, shard: shardName(r) })) });
const shardOf = (k: bigint) => shardForKeyspaceId(table, integerKeyspaceId(k));

before(() => loadParser());

test('literal and bound keys in WHERE =, either side, inside AND, through casts', () => {
  const cache = new PlanCache(scheme);
  for (const [sql, params, key] of [
    ['select * from orders where customer_id = 42', [], 42n],
    ['select * from orders where 42 = customer_id and total > 5', [], 42n],
    ['select * from orders o where o.customer_id = -7', [], -7n],
    ["select * from orders where customer_id = '9223372036854775807'::bigint", [], 9223372036854775807n],
    ['update orders set total = 0 where status = $2 and customer_id = $1', ['1234', 'open'], 1234n],
    ['delete from orders where customer_id = $1::int8', ['-1'], -1n],
    ['insert into orders (id, customer_id, total) values (1, 77, 9.5)', [], 77n],
    ['insert into orders (customer_id, id) values ($1, $2)', ['5', '6'], 5n],
  ] as [string, string[], bigint][]) {
    const r = route(cache.plan(sql), table, params);
    assert.equal(r.kind, 'shard', `${sql}: ${JSON.stringify(r)}`);
    if (r.kind === 'shard') {
      assert.equal(r.shard, shardOf(key), sql);
      assert.equal(r.keyspaceId, keyspaceIdHex(integerKeyspaceId(key)));
      assert.equal(r.generation, 3);
    }
  }
});

test('binary integer parameters and text keys', () => {
  const cache = new PlanCache(scheme);
  const b = Buffer.alloc(8); b.writeBigInt64BE(123456789n);
  const r = route(cache.plan('select 1 from orders where customer_id = $1'), table, [b]);
  assert.equal(r.kind === 'shard' && r.shard, shardOf(123456789n));
  const b4 = Buffer.alloc(4); b4.writeInt32BE(-5);
  assert.equal(route(cache.plan('select 1 from orders where customer_id = $1'), table, [b4]).kind === 'shard' && true, true);
  const t = route(cache.plan("select * from users where email = 'ünï@example.com'"), table);
  assert.equal(t.kind === 'shard' && t.keyspaceId, keyspaceIdHex(textKeyspaceId('ünï@example.com')));
});

test('what is not single-shard says why', () => {
  const cache = new PlanCache(scheme);
  const why = (sql: string, params: string[] = []) => { const r = route(cache.plan(sql), table, params); return r.kind === 'none' ? `${r.plan}: ${r.reason}` : `shard ${r.shard}`; };
  assert.match(why('select * from orders'), /^scatter: no "customer_id = <literal or \$n>"/);
  assert.match(why('select * from orders where customer_id = 1 or customer_id = 2'), /^scatter/);
  assert.match(why('select * from orders where customer_id in (1, 2)'), /^scatter/);
  assert.match(why('select * from orders join users on true where customer_id = 1'), /^scatter: joins/);
  assert.match(why('insert into orders (customer_id) values (1), (2)'), /exactly one VALUES row/);
  assert.match(why('select 1; select 2'), /2 statements/);
  assert.match(why('select now()'), /^unsharded/);
  assert.match(why('select * from pg_class where oid = 1'), /^unsharded/);
  assert.match(why('begin'), /^unsharded: TransactionStmt/);
  assert.match(why('select * from orders where customer_id = $1'), /\$1 is not bound/);
  assert.match(why('select * from orders where customer_id = $1', ['x1']), /not an integer/);
  assert.match(why('selec nonsense'), /does not parse/);
});

test('each distinct text is parsed once; the cache evicts a text not used since the last eviction pass', () => {
  const cache = new PlanCache(scheme, 2);
  cache.plan('select * from orders where customer_id = $1');
  cache.plan('select * from orders where customer_id = $1');
  assert.deepEqual([cache.hits, cache.misses], [1, 1]);
  cache.plan('select 1');
  cache.plan('select * from orders where customer_id = $1');
  cache.plan('select 2');
  assert.equal(cache.size, 2);
  cache.plan('select 1');
  assert.equal(cache.misses, 4);
});

test('the sharding scheme is checked at the door', () => {
  assert.throws(() => buildShardingScheme({ 'Orders;drop': { column: 'a', type: 'integer' } }), /identifier/);
  assert.throws(() => buildShardingScheme({ orders: { column: 'a b', type: 'integer' } }), /column/);
  assert.throws(() => buildShardingScheme({ orders: { column: 'a', type: 'uuid' } }), /"integer" or "text"/);
});
