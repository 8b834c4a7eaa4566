import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { PlanCache, loadParser } from './parse-cache.js';
import { buildShardingScheme } from './sharding-scheme.js';
import { route } from './route.js';
import { declaredTypes, resolveRowCount } from './scatter-limits.js';
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

const scatterOf = (cache: PlanCache, sql: string) => {
  const p = cache.plan(sql);
  assert.equal(p.kind, 'scatter', sql);
  if (p.kind !== 'scatter' || !p.select) throw new Error(`${sql}: not scattered: ${p.reason}`);
  return p.select;
};

test('HAVING: the shards send every group, the final query filters the combined aggregates and group keys', () => {
  const cache = new PlanCache(scheme);
  const s = scatterOf(cache, "select note, sum(total) from orders group by note having count(*) > 3 and note <> 'x' and avg(total) is not null");
  assert.doesNotMatch(s.shardSql, /HAVING/i);
  assert.match(s.shardSql, /GROUP BY\s+1/);
  assert.ok(s.having);
  assert.equal(s.having.sql.replace(/\s+/g, ' '), "pgop_h0 > 3 AND pgop_h1 <> 'x' AND pgop_h2 IS NOT NULL");
  assert.deepEqual(s.having.terms.map((t) => t.kind), ['count', 'plain', 'avg']);
  assert.deepEqual(s.having.terms[1], { kind: 'plain', col: 0 });
  // HAVING without GROUP BY is one group even over no rows: every shard must send its one row.
  assert.match(scatterOf(cache, 'select 1 from orders having true').shardSql, /count\(\*\)/);
});

test('agg(DISTINCT x): the shards group by x as well, the final query groups by the statement keys only', () => {
  const cache = new PlanCache(scheme);
  const s = scatterOf(cache, 'select status, count(distinct customer_id), sum(total) from orders group by status');
  assert.match(s.shardSql.replace(/\s+/g, ' '), /SELECT status AS pgop_p0, customer_id AS pgop_p1, sum\(total\) AS pgop_p2 FROM orders GROUP BY 1, 2/);
  assert.deepEqual(s.groupBy, [0]);
  assert.deepEqual(s.columns?.[1], { kind: 'distinct', agg: 'count', col: 1, cast: null });
  const whole = scatterOf(cache, 'select count(distinct total), avg(distinct total) from orders');
  assert.deepEqual(whole.groupBy, []);
  assert.match(whole.shardSql, /GROUP BY\s+1/);
  // Two DISTINCT arguments: the shards group by both.
  const two = scatterOf(cache, 'select status, count(distinct customer_id), count(distinct total), count(*) from orders group by status');
  assert.match(two.shardSql.replace(/\s+/g, ' '), /GROUP BY 1, 2, 3$/);
  assert.deepEqual(two.columns?.slice(1, 3), [{ kind: 'distinct', agg: 'count', col: 1, cast: null }, { kind: 'distinct', agg: 'count', col: 2, cast: null }]);
});

test('DISTINCT over grouped rows is left to the final query', () => {
  const cache = new PlanCache(scheme);
  const s = scatterOf(cache, 'select distinct count(*) from orders group by status');
  assert.equal(s.distinct, true);
  assert.doesNotMatch(s.shardSql, /DISTINCT/i);
});

test('LIMIT/OFFSET parameters: one parse per text, values read from each Bind', () => {
  const cache = new PlanCache(scheme);
  const sql = 'select id from orders where total > $1 order by id limit $2 offset $3';
  const s = scatterOf(cache, sql);
  scatterOf(cache, sql);
  assert.deepEqual([cache.hits, cache.misses], [1, 1]);
  assert.deepEqual([s.limit, s.offset], [{ param: 2 }, { param: 3 }]);
  // Top-N on each shard is limit + offset rows, both still the client's parameters.
  assert.match(s.shardSql, /LIMIT CAST\(\$2 AS bigint\) \+ \(?COALESCE\(CAST\(\$3 AS bigint\), 0\)\)?/);
  const b = Buffer.alloc(4); b.writeInt32BE(7);
  assert.equal(resolveRowCount(s.limit, ['5', '10', '2'], 'LIMIT'), 10n);
  assert.equal(resolveRowCount(s.limit, ['5', b, null], 'LIMIT'), 7n);
  assert.equal(resolveRowCount(s.offset, ['5', b, null], 'OFFSET'), null);
  assert.throws(() => resolveRowCount(s.limit, ['5', '1.5'], 'LIMIT'), /not an integer/);
  // Binary is read as an integer only for a parameter declared int2/int4/int8 or left to PostgreSQL (int8 there).
  const section = Buffer.alloc(2 + 8); section.writeUInt16BE(2); section.writeUInt32BE(0, 2); section.writeUInt32BE(1700, 6);
  assert.deepEqual(declaredTypes(section), [0, 1700]);
  assert.throws(() => resolveRowCount(s.limit, ['5', Buffer.alloc(8)], 'LIMIT', declaredTypes(section)), /binary of type oid 1700/);
  assert.equal(resolveRowCount(s.limit, ['5', Buffer.alloc(8)], 'LIMIT', [0, 20]), 0n);
  assert.throws(() => resolveRowCount(s.offset, ['5'], 'OFFSET'), /\$3 is not bound/);
  // Not pushed down (aggregates): the shard still names the parameter, in a LIMIT that is NULL (no limit).
  const g = scatterOf(cache, 'select status, count(*) from orders group by status order by 2 limit $1');
  assert.match(g.shardSql, /LIMIT CAST\(NULL AS bigint\) \+ CAST\(\$1 AS bigint\)/);
});

test('what is still not merged exactly stays refused with the reason', () => {
  const cache = new PlanCache(scheme);
  for (const [sql, why] of [
    ['select status, count(*) from orders group by status having count(*) > $1', /parameter \(\$n\) in HAVING/],
    ['select status from orders group by status having max(id) > id', /not a GROUP BY key/],
    ['select id from orders limit $1 + 1', /LIMIT must be an integer literal or a parameter/],
    ['select count(distinct status) filter (where total > 1) from orders', /FILTER/],
    ['select 1, count(distinct status) from orders', /constant column/],
  ] as [string, RegExp][]) {
    const p = cache.plan(sql);
    assert.ok(p.kind === 'scatter' && !p.select, sql);
    assert.match(p.reason, why, sql);
  }
});
