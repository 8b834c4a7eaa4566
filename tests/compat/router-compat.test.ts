// Compatibility tier: the same statements through the router on 4 real PostgreSQL shards and on one unsharded
// PostgreSQL holding the same data must return the same rows. DDL and reference tables go through the router (fan-out);
// reads without a key scatter and merge; unsupported shapes must be refused (0A000), never answered differently.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import pg from 'pg';
import { startScratchPostgres, routerLookupRole, type ScratchPostgres } from '../integration/router-pg-harness.js';
import { startRouter, type RunningRouter } from '../../router/server.js';
import { createLogger } from '../../adapters/logging/logger.js';
import { withClient, run } from '../integration/router-harness.js';

const PASSWORD = 'compat-pw';
const SHARDS = ['-40', '40-80', '80-c0', 'c0-'];
let servers: ScratchPostgres[] = [];
let single: ScratchPostgres;
let router: RunningRouter;
const routerUri = () => `postgresql://app:${PASSWORD}@127.0.0.1:${router.port}/app?sslmode=disable`;
const singleUri = () => `postgresql://app:${PASSWORD}@127.0.0.1:${single.port}/app?sslmode=disable`;
const shardUri = (i: number) => `postgresql://app:${PASSWORD}@127.0.0.1:${servers[i]!.port}/app?sslmode=disable`;

const SCHEMA = [
  'create table customers (customer_id bigint primary key, name text not null, country text, score numeric(10,2))',
  'create table orders (id bigint primary key, customer_id bigint not null, amount int, price numeric(12,2), weight float8, note text, created date)',
  'create index orders_customer on orders (customer_id)',
  'create table countries (code text primary key, name text not null, region text)',
];

before(async () => {
  servers = await Promise.all([...SHARDS.map(() => startScratchPostgres()), startScratchPostgres()]);
  single = servers.pop()!;
  // The app role is created on one server; its verifier is copied to the rest (what the operator does for shards).
  let verifier = '';
  for (const [i, s] of [...servers, single].entries()) {
    await withClient(s.uri(), async (c) => {
      if (i === 0) {
        await c.query(`create role app login password ${pg.escapeLiteral(PASSWORD)}`);
        verifier = (await c.query("select rolpassword from pg_authid where rolname = 'app'")).rows[0].rolpassword;
      } else await c.query(`create role app login password ${pg.escapeLiteral(verifier)}`);
      await c.query('alter role app createrole');
      await c.query('create database app owner app');
    });
  }
  router = await startRouter({
    listen: { host: '127.0.0.1', port: 0 }, backend: { host: '127.0.0.1', port: servers[0]!.port },
    auth: await routerLookupRole(servers[0]!), pool: { size: 4 }, tls: null, metrics: null,
    sharding: { generation: 1, shards: SHARDS.map((name, i) => ({ name, host: '127.0.0.1', port: servers[i]!.port })),
      tables: { orders: { column: 'customer_id', type: 'integer' }, customers: { column: 'customer_id', type: 'integer' } }, referenceTables: ['countries'] },
  }, createLogger('router', {}, { write: () => undefined }));
  // DDL through the router reaches every shard; the same DDL on the single server.
  await withClient(routerUri(), async (r) => { for (const ddl of SCHEMA) await r.query(ddl); });
  await withClient(singleUri(), async (s) => { for (const ddl of SCHEMA) await s.query(ddl); });
  const countries = [['de', 'Germany', 'eu'], ['fr', 'France', 'eu'], ['jp', 'Japan', 'asia'], ['us', 'United States', 'am'], ['br', 'Brasil', null]];
  const customers = Array.from({ length: 60 }, (_, i) => [i * 7 - 50, `cust ${i % 13}`, countries[i % 5]![0], i % 4 === 0 ? null : (i * 3.25).toFixed(2)]);
  const orders = Array.from({ length: 400 }, (_, i) => [i + 1, customers[i % 60]![0], i % 17 === 0 ? null : (i * 37) % 101, ((i * 13) % 997) / 4, (i % 9) * 0.5, i % 5 === 0 ? null : `n${i % 23}`, `2024-0${1 + (i % 9)}-1${i % 10}`]);
  for (const uri of [routerUri(), singleUri()]) {
    await withClient(uri, async (c) => {
      for (const row of countries) await c.query('insert into countries (code, name, region) values ($1, $2, $3)', row);
      for (const row of customers) await c.query('insert into customers (customer_id, name, country, score) values ($1, $2, $3, $4)', row);
      for (const row of orders) await c.query('insert into orders (id, customer_id, amount, price, weight, note, created) values ($1, $2, $3, $4, $5, $6, $7)', row);
    });
  }
});
after(async () => { await router?.close(); await Promise.all([...servers, single].filter(Boolean).map((s) => s.stop())); });

/** Ordered statements compare rows in order; the rest as multisets. */
const STATEMENTS: { sql: string; ordered?: boolean }[] = [
  // point reads (fast path), literal and NULL-bearing columns
  ...[-50, -43, 0, 6, 13, 363].map((k) => ({ sql: `select * from orders where customer_id = ${k} order by id`, ordered: true })),
  { sql: 'select id, amount, note from orders where customer_id = 20 and amount is null' },
  { sql: 'select name, score from customers where customer_id = -36' },
  // scatter reads
  { sql: 'select * from orders' },
  { sql: 'select id, note from orders where amount > 50' },
  { sql: 'select id, price from orders order by price desc, id', ordered: true },
  { sql: 'select id, amount from orders order by amount nulls first, id limit 25', ordered: true },
  { sql: 'select id, amount from orders order by amount desc nulls last, id limit 10 offset 7', ordered: true },
  { sql: 'select id from orders order by weight, note, id desc limit 40', ordered: true },
  { sql: 'select * from orders order by id offset 390', ordered: true },
  { sql: 'select note, id from orders order by 1, 2 desc', ordered: true },
  { sql: 'select id as k, created from orders order by k limit 5', ordered: true },
  { sql: 'select id from orders order by created desc, id limit 12', ordered: true },
  { sql: 'select * from customers order by name, customer_id', ordered: true },
  { sql: 'select count(*) from orders' },
  { sql: 'select count(*), count(amount), sum(amount), min(amount), max(amount) from orders' },
  { sql: 'select sum(price), avg(price), avg(amount), avg(weight), min(note), max(created) from orders' },
  { sql: 'select count(*)::int as n, sum(amount)::int8 as s from orders where note is not null' },
  { sql: 'select count(*) from orders where amount < 0' },
  { sql: 'select sum(amount), avg(amount), max(note) from orders where amount < 0' },
  { sql: 'select note, count(*), sum(amount) from orders group by note' },
  { sql: 'select note, count(*) as n, avg(price) from orders group by note order by n desc, note nulls first', ordered: true },
  { sql: 'select customer_id, sum(amount) from orders group by customer_id order by 2 desc nulls last, 1 limit 10', ordered: true },
  { sql: 'select created, min(weight), max(weight) from orders group by 1 order by 1', ordered: true },
  { sql: 'select amount % 3 as m, count(*) from orders group by amount % 3 order by m nulls first', ordered: true },
  { sql: 'select distinct note from orders' },
  { sql: 'select distinct note, amount % 2 from orders order by 1, 2 nulls first', ordered: true },
  { sql: 'select id, note from orders limit 7', ordered: false },
  { sql: 'select 1 as one, count(*), max(note) from orders where amount < 0' },
  // HAVING: partial groups from the shards, the filter over the combined aggregates
  { sql: 'select note, count(*) from orders group by note having count(*) > 17' },
  { sql: 'select note, count(*) as n, sum(amount) from orders group by note having sum(amount) > 800 and note is not null order by n desc, note', ordered: true },
  { sql: 'select customer_id, avg(price) from orders group by customer_id having avg(price) between 100 and 150 order by 2 desc, 1', ordered: true },
  { sql: 'select count(*) from orders having count(*) > 1000' },
  { sql: 'select count(*), max(note) from orders where amount < 0 having count(*) = 0' },
  { sql: 'select 1 as one from orders where amount < 0 having true' },
  { sql: 'select amount % 3 as m, count(*) from orders group by amount % 3 having amount % 3 is null or count(*) > 120 order by m nulls first', ordered: true },
  { sql: 'select note, max(amount) from orders group by note having max(amount) > 99 or max(amount) is null order by note nulls first', ordered: true },
  { sql: 'select created, sum(weight) from orders group by created having count(distinct customer_id) = 2 and min(price) < 40 order by sum(weight) desc, created', ordered: true },
  { sql: 'select cu.country, count(*)::int as n from customers cu join orders o on o.customer_id = cu.customer_id group by cu.country having count(*)::int >= 80 order by 2, 1', ordered: true },
  // aggregates over DISTINCT x: the shards group by x, the final query aggregates the distinct values
  { sql: 'select count(distinct note) from orders' },
  { sql: 'select count(distinct amount), sum(distinct amount), avg(distinct amount), min(distinct amount), max(distinct amount), count(*), sum(amount), avg(weight) from orders' },
  { sql: 'select note, count(distinct customer_id) as c, count(*) from orders group by note order by c desc, note nulls first', ordered: true },
  { sql: 'select count(distinct amount), sum(distinct amount), avg(distinct amount) from orders where amount < 0' },
  { sql: 'select note, count(distinct amount), sum(distinct amount) from orders where amount > 95 group by note' },
  { sql: 'select country, count(distinct score), avg(distinct score), sum(distinct score) from customers group by country order by country nulls last', ordered: true },
  { sql: 'select count(distinct customer_id)::int as n, count(distinct customer_id) as d from orders' },
  { sql: 'select created, count(distinct amount % 7) from orders group by created order by 2 desc, 1 limit 4', ordered: true },
  { sql: 'select count(distinct note), count(distinct amount), sum(distinct amount), count(*), avg(price) from orders' },
  { sql: 'select created, count(distinct note) as n, count(distinct amount), sum(distinct weight), count(*) from orders group by created having count(distinct note) > 4 order by n desc, 1', ordered: true },
  // DISTINCT over grouped rows: applied to the combined groups
  { sql: 'select distinct count(*) from orders group by note' },
  { sql: 'select distinct note is null as no_note, count(*) from orders group by note order by 1, 2', ordered: true },
  { sql: 'select distinct amount % 5 as m, count(*) from orders group by amount order by 1 nulls first, 2 limit 9 offset 2', ordered: true },
  { sql: 'select distinct count(distinct amount) from orders group by created' },
  // reference tables: reads from one shard, joins with sharded tables on every shard
  { sql: 'select * from countries order by code', ordered: true },
  { sql: 'select o.id, c.name from orders o join customers cu on cu.customer_id = o.customer_id and cu.customer_id = 6 join countries c on c.code = cu.country order by o.id', ordered: true },
  { sql: 'select c.region, count(*) from customers cu join countries c on c.code = cu.country group by c.region order by c.region nulls last', ordered: true },
  { sql: 'select cu.name, c.name from customers cu left join countries c on c.code = cu.country order by cu.customer_id', ordered: true },
  // joins of co-located sharded tables (equal sharding columns): one shard with a key, every shard without
  { sql: 'select o.id, cu.name from orders o join customers cu on cu.customer_id = o.customer_id where o.customer_id = 13 order by o.id', ordered: true },
  { sql: 'select cu.name, count(*), sum(o.amount) from customers cu join orders o on o.customer_id = cu.customer_id group by cu.name order by cu.name', ordered: true },
  { sql: 'select cu.customer_id, o.id from customers cu left join orders o on o.customer_id = cu.customer_id and o.amount > 90 order by 1, 2 nulls first', ordered: true },
  // no table
  { sql: 'select 1 + 1 as two, null::text as n, \'x\' || \'y\' as xy' },
];

async function rowsOf(uri: string, sql: string): Promise<unknown[][]> {
  return withClient(uri, async (c) => (await c.query({ text: sql, rowMode: 'array' })).rows as unknown[][]);
}

const key = (r: unknown[]) => JSON.stringify(r);

test('the same statements return the same rows through the router on 4 shards as on one PostgreSQL', async () => {
  for (const { sql, ordered } of STATEMENTS) {
    const [got, want] = await Promise.all([rowsOf(routerUri(), sql).catch((e: Error) => e), rowsOf(singleUri(), sql)]);
    assert.ok(!(got instanceof Error), `${sql}\n  router failed: ${(got as Error).message}`);
    if (sql.endsWith('limit 7')) { assert.equal((got as unknown[][]).length, 7, sql); continue; }
    if (ordered) assert.deepEqual(got, want, sql);
    else assert.deepEqual((got as unknown[][]).map(key).sort(), want.map(key).sort(), sql);
  }
});

test('metrics count routes, per-shard queries and multi-shard failures', async () => {
  const text = await router.metrics.registry.metrics();
  for (const route of ['fast_path', 'scatter', 'fanout', 'unsharded']) assert.match(text, new RegExp(`pgop_router_routes_total\\{route="${route}"\\} [1-9]`), route);
  for (const shard of SHARDS) assert.match(text, new RegExp(`pgop_router_shard_queries_total\\{shard="${shard}"\\} [1-9]`), shard);
  assert.match(text, /pgop_router_pool_connections\{role="app",database="app",shard="c0-",state="idle"\}/);
});

test('column names and types of merged results are PostgreSQL\'s', async () => {
  for (const sql of ['select count(*), sum(amount), avg(amount), min(note) from orders', 'select note, count(*) as n from orders group by note order by note limit 1', 'select id, created from orders order by created, id limit 2',
    'select note, count(distinct amount), avg(distinct amount), sum(distinct amount) from orders group by note having count(*) > 1 order by note limit 1']) {
    const [a, b] = await Promise.all([routerUri(), singleUri()].map((u) => withClient(u, async (c) => (await c.query(sql)).fields.map((f) => [f.name, f.dataTypeID]))));
    assert.deepEqual(a, b, sql);
  }
});

test('rows sit on the shard their keyspace id names; DDL and reference rows are on every shard', async () => {
  let total = 0;
  for (const [i, name] of SHARDS.entries()) {
    await withClient(shardUri(i), async (c) => {
      const [lo, hi] = name.split('-').map((h) => (h ? BigInt(`0x${h.padEnd(16, '0')}`) : null));
      const ids = (await c.query("select to_hex(hashint8extended(customer_id, 0)) as h from orders")).rows.map((r: { h: string }) => BigInt.asUintN(64, BigInt(`0x${r.h}`)));
      for (const id of ids) assert.ok((lo === null || id >= lo!) && (hi === null || id < hi!), `shard ${name} holds keyspace id ${id.toString(16)}`);
      total += ids.length;
      assert.equal((await c.query('select count(*)::int as n from countries')).rows[0].n, 5, `reference table on ${name}`);
      assert.equal((await c.query("select count(*)::int as n from pg_indexes where indexname = 'orders_customer'")).rows[0].n, 1, `index on ${name}`);
    });
  }
  assert.equal(total, 400);
});

test('what cannot be merged exactly is refused with 0A000 and the reason', async () => {
  const refused: [string, RegExp][] = [
    ['select string_agg(note, \',\') from orders', /string_agg/],
    ['select 1, count(distinct note) from orders', /constant column beside an aggregate over DISTINCT/],
    ['select note, count(*) from orders group by note having max(id) > count(*) + id', /HAVING over a column that is not a GROUP BY key/],
    ['select id from orders order by id limit 3 + 1', /LIMIT must be an integer literal or a parameter/],
    ['select sum(amount) + 1 from orders', /expression around an aggregate/],
    ['select * from orders o join customers c on c.name = o.note', /join of 2 sharded tables .* not tied by equal sharding columns/],
    ['select * from orders o join customers c on c.name = o.note where o.customer_id = 6', /not tied by their sharding columns/],
    ['select id, row_number() over () from orders', /window function/],
    ['update orders set note = \'x\' where amount = 1', /customer_id/],
    ['select * from orders where id in (select id from orders where amount = 3)', /subquery/],
  ];
  await withClient(routerUri(), async (c) => {
    for (const [sql, why] of refused) {
      await assert.rejects(c.query(sql), (e: pg.DatabaseError) => { assert.equal(e.code, '0A000', `${sql}: ${e.message}`); assert.match(e.message, why, sql); return true; });
    }
    // Extended protocol: a parameter in HAVING cannot reach the final query, and LIMIT must be a plain parameter.
    for (const [sql, values, why] of [
      ['select note, count(*) from orders group by note having count(*) > $1', [3], /parameter \(\$n\) in HAVING/],
      ['select id from orders order by id limit $1 * 2', [3], /LIMIT must be an integer literal or a parameter/],
    ] as [string, unknown[], RegExp][]) {
      await assert.rejects(c.query(sql, values), (e: pg.DatabaseError) => { assert.equal(e.code, '0A000', `${sql}: ${e.message}`); assert.match(e.message, why, sql); return true; });
    }
    // Inside a transaction block, statements on every shard are refused (no 2PC yet), and the block fails as a whole.
    await c.query('begin');
    await assert.rejects(c.query('select count(*) from orders'), (e: pg.DatabaseError) => e.code === '0A000' && /transaction block/.test(e.message));
    await c.query('rollback');
  });
});

test('reference-table writes fan out; a failure part-way names the shards that applied it', async () => {
  await withClient(routerUri(), async (c) => {
    const r = await c.query("update countries set region = 'europe' where region = 'eu'");
    assert.equal(r.rowCount, 2);
    await withClient(singleUri(), (s) => s.query("update countries set region = 'europe' where region = 'eu'"));
    // Make one shard refuse the next insert: the error says which shards applied it.
    await withClient(shardUri(2), (d) => d.query("insert into countries values ('it', 'Italy (only here)', 'europe')"));
    await assert.rejects(c.query("insert into countries values ('it', 'Italy', 'europe')"), (e: pg.DatabaseError) => {
      assert.equal(e.code, '23505');
      assert.match(e.message, /failed on shard 80-c0 after it was applied on shards -40, 40-80, c0-/);
      return true;
    });
  });
  for (const i of [0, 1, 3]) assert.equal((await rowsOf(shardUri(i), "select name from countries where code = 'it'"))[0]?.[0], 'Italy');
  const regions = await Promise.all(SHARDS.map((_, i) => rowsOf(shardUri(i), "select count(*)::int from countries where region = 'europe' and code <> 'it'")));
  assert.deepEqual(regions.map((r) => r[0]![0]), [2, 2, 2, 2]);
});

test('roles created through the router can log in through it (one verifier on every shard)', async () => {
  await withClient(routerUri(), (c) => c.query("create role reporter login password 'rep pw'"));
  const verifiers = await Promise.all(servers.map((s) => withClient(s.uri(), async (c) => (await c.query("select rolpassword from pg_authid where rolname = 'reporter'")).rows[0]?.rolpassword as string)));
  assert.ok(verifiers[0]?.startsWith('SCRAM-SHA-256$'));
  assert.deepEqual(new Set(verifiers).size, 1, 'the same verifier on every shard');
  await withClient(routerUri(), (c) => c.query('grant select on orders, countries to reporter'));
  const n = await withClient(`postgresql://reporter:${encodeURIComponent('rep pw')}@127.0.0.1:${router.port}/app?sslmode=disable`, async (c) => (await c.query('select count(*)::int as n from orders')).rows[0].n);
  assert.equal(n, 400);
});

test('node-postgres prepared statements, binary results and pipelined queries agree with one PostgreSQL', async () => {
  const run1 = async (uri: string) => withClient(uri, async (c) => {
    const out: unknown[] = [];
    for (const k of [-50, 6, 13, 41]) out.push((await c.query({ name: 'by-customer', text: 'select id, amount, price, created from orders where customer_id = $1 order by id', values: [k] })).rows);
    // Pipelined: several queries in flight on one connection.
    out.push(await Promise.all([1, 2, 3].map((k) => c.query('select count(*)::int as n from orders where customer_id = $1', [k * 7 - 50]).then((r) => r.rows[0].n))));
    out.push((await c.query('select sum(amount)::int as s, count(*) from orders')).rows);
    return out;
  }, { binary: true } as pg.ClientConfig);
  assert.deepEqual(await run1(routerUri()), await run1(singleUri()));
});

test('LIMIT/OFFSET as bind parameters (unnamed and named prepared, text and binary values) agree with one PostgreSQL', async () => {
  const int8 = (n: bigint) => { const b = Buffer.alloc(8); b.writeBigInt64BE(n); return b; };
  const cases: { text: string; runs: unknown[][] }[] = [
    { text: 'select id, amount from orders order by amount nulls first, id limit $1 offset $2', runs: [[25, 10], [5, null], [null, 390], [0, 0], [3, 500]] },
    { text: 'select id from orders where amount > $1 order by id desc limit $2 offset $3', runs: [[50, 4, 2], [90, 100, 0]] },
    { text: 'select note, count(*) as n from orders group by note order by n desc, note limit $1', runs: [[3], [1], [null]] },
    { text: 'select note, count(distinct amount) as d from orders group by note having count(*) > 15 order by d, note offset $1', runs: [[1], [20], [null]] },
    { text: 'select distinct note from orders order by 1 nulls first limit $1 offset $2', runs: [[3, 1], [100, 20]] },
    { text: 'select customer_id, sum(amount) from orders group by customer_id having sum(amount) > 500 order by 2 desc, 1 limit $1 offset $2', runs: [[5, 3], [int8(4n), int8(1n)]] },
    { text: 'select id, note from orders order by note nulls first, id offset $1', runs: [[395], [int8(398n)]] },
    { text: 'select id from orders limit $1', runs: [[0], [int8(0n)]] },
  ];
  const runAll = (uri: string) => withClient(uri, async (c) => {
    const out: unknown[] = [];
    for (const [i, { text, runs }] of cases.entries()) {
      // Unnamed (Parse/Bind each time), then one named statement bound with each set of values.
      for (const values of runs) out.push((await c.query({ text, values, rowMode: 'array' })).rows);
      for (const values of runs) out.push((await c.query({ name: `limits-${i}`, text, values, rowMode: 'array' })).rows);
    }
    return out;
  });
  const [got, want] = await Promise.all([runAll(routerUri()), runAll(singleUri())]);
  assert.deepEqual(got, want);
  // A parameter that is not an integer is PostgreSQL's error from the shards, never a guess.
  await withClient(routerUri(), async (c) => {
    await assert.rejects(c.query('select id from orders order by id limit $1', ['ten']), (e: pg.DatabaseError) => e.code === '22P02');
    await assert.rejects(c.query('select id from orders order by id limit $1', [-1]), (e: pg.DatabaseError) => e.code === '2201W');
  });
});

const venvPython = join(process.env.PGOP_CACHE ?? join(homedir(), '.cache', 'pgop'), 'py', 'bin', 'python3');
const python = existsSync(venvPython) ? venvPython : 'python3';
const hasPython = (mod: string) => spawnSync(python, ['-c', `import ${mod}`]).status === 0 || process.env.CI === 'true';

const PSYCOPG = `
import sys, json, psycopg
out = []
with psycopg.connect(sys.argv[1], prepare_threshold=0, autocommit=True) as c:
    cur = c.cursor()
    for k in (-50, 6, 13):
        cur.execute("select id, amount, note from orders where customer_id = %s order by id", (k,))
        out.append([list(map(str, r)) for r in cur.fetchall()])
    cur.execute("select id from orders where customer_id = %s", (20,), binary=True)
    out.append(sorted(r[0] for r in cur.fetchall()))
    for sql in ("select count(*), sum(amount), avg(amount) from orders", "select note, count(*) from orders group by note order by note nulls first", "select * from countries where code <> 'it' order by code"):
        cur.execute(sql)
        out.append([list(map(str, r)) for r in cur.fetchall()])
    # A pipeline is one implicit transaction until its Sync: its statements share a shard (here one customer).
    with c.pipeline():
        curs = [c.execute(q, (-43,)) for q in ("select count(*) from orders where customer_id = %s", "select sum(amount) from orders where customer_id = %s", "select max(note) from orders where customer_id = %s")]
    out.append([str(x.fetchone()[0]) for x in curs])
print(json.dumps(out))
`;

test('psycopg 3 (server-side prepared, binary, pipeline mode) agrees with one PostgreSQL', { skip: hasPython('psycopg') ? false : 'psycopg not installed (scripts/python-drivers.sh)' }, async () => {
  const [a, b] = await Promise.all([routerUri(), singleUri()].map((u) => run(python, ['-c', PSYCOPG, u])));
  assert.equal(a!.code, 0, `${a!.stderr}\n${a!.stdout}`);
  assert.equal(b!.code, 0, b!.stderr);
  assert.deepEqual(JSON.parse(a!.stdout), JSON.parse(b!.stdout));
});
