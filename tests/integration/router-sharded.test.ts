// Two PostgreSQL instances as shards "-80" and "80-" behind one router. Each shard's table carries a CHECK that only
// admits rows whose hashint8extended(customer_id, 0) falls in its range, so PostgreSQL itself proves every routed
// row landed on the right shard (a mis-route is a 23514 check violation).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import pg from 'pg';
import { startScratchPostgres, routerLookupRole, type ScratchPostgres } from './router-pg-harness.js';
import { startRouter, type RunningRouter } from '../../router/server.js';
import { createLogger } from '../../adapters/logging/logger.js';
import { withClient } from './router-harness.js';

const PASSWORD = 'shard-app-pw';
let shards: ScratchPostgres[] = [];
let router: RunningRouter;
const uri = () => `postgresql://app:${PASSWORD}@127.0.0.1:${router.port}/app?sslmode=disable`;
const direct = (i: number) => `postgresql://app:${PASSWORD}@127.0.0.1:${shards[i]!.port}/app?sslmode=disable`;

before(async () => {
  shards = await Promise.all([startScratchPostgres(), startScratchPostgres()]);
  let verifier = '';
  for (const [i, s] of shards.entries()) {
    await withClient(s.uri(), async (c) => {
      // One role, one verifier on every shard: the router logs in to each with the key one client login revealed.
      if (i === 0) {
        await c.query(`create role app login password ${pg.escapeLiteral(PASSWORD)}`);
        verifier = (await c.query("select rolpassword from pg_authid where rolname = 'app'")).rows[0].rolpassword;
      } else await c.query(`create role app login password ${pg.escapeLiteral(verifier)}`);
      await c.query('create database app owner app');
    });
    await withClient(direct(i), (c) => c.query(`create table orders (id bigint primary key, customer_id bigint not null, note text,
      check (hashint8extended(customer_id, 0) ${i === 0 ? '>=' : '<'} 0))`));
  }
  router = await startRouter({
    listen: { host: '127.0.0.1', port: 0 }, backend: { host: '127.0.0.1', port: shards[0]!.port },
    auth: await routerLookupRole(shards[0]!), pool: { size: 2 }, tls: null, metrics: null,
    sharding: { generation: 1, shards: [{ name: '-80', host: '127.0.0.1', port: shards[0]!.port }, { name: '80-', host: '127.0.0.1', port: shards[1]!.port }],
      tables: { orders: { column: 'customer_id', type: 'integer' } } },
  }, createLogger('router', {}, { write: () => undefined }));
});
after(async () => { await router?.close(); await Promise.all(shards.map((s) => s.stop())); });

test('rows inserted by literal and by bound key land on their shard; reads by key find them', async () => {
  await withClient(uri(), async (c) => {
    for (let k = -50; k < 50; k++) await c.query(`insert into orders (id, customer_id, note) values (${k + 1000}, ${k}, 'literal')`);
    for (let k = 50; k < 150; k++) await c.query({ name: 'ins', text: 'insert into orders (id, customer_id, note) values ($1, $2, $3)', values: [k + 1000, k, 'bound'] });
    for (const k of [-50, -1, 0, 7, 49, 50, 149]) {
      const r = await c.query({ name: 'get', text: 'select id, note from orders where customer_id = $1', values: [k] });
      assert.deepEqual(r.rows, [{ id: String(k + 1000), note: k < 50 ? 'literal' : 'bound' }], `customer ${k}`);
    }
  });
  const counts = await Promise.all([0, 1].map((i) => withClient(direct(i), async (c) => Number((await c.query('select count(*) from orders')).rows[0].count))));
  assert.equal(counts[0]! + counts[1]!, 200);
  assert.ok(counts[0]! > 50 && counts[1]! > 50, `both shards hold rows: ${counts}`);
});

test('a transaction starts on the shard of its first keyed statement; a second shard is refused and nothing commits', async () => {
  await withClient(uri(), async (c) => {
    const route = async (k: number) => (await c.query(`show pgop.route select * from orders where customer_id = ${k}`)).rows[0].shard as string;
    const a = 1000; let b = 1001;
    while (await route(b) === await route(a)) b++;
    await c.query('begin');
    await c.query(`insert into orders (id, customer_id, note) values (5000, ${a}, 'tx')`);
    await c.query(`update orders set note = 'tx2' where customer_id = ${a}`);
    await c.query('commit');
    assert.equal((await c.query(`select note from orders where customer_id = ${a}`)).rows[0].note, 'tx2');

    await c.query('begin');
    await c.query(`insert into orders (id, customer_id, note) values (5001, ${a}, 'half')`);
    await assert.rejects(c.query(`insert into orders (id, customer_id, note) values (5002, ${b}, 'other shard')`), (e: pg.DatabaseError) => e.code === '0A000' && /cross-shard/.test(e.message));
    await assert.rejects(c.query('select 1'), (e: pg.DatabaseError) => e.code === '25P02');
    await c.query('rollback');
    assert.equal((await c.query(`select count(*)::int as n from orders where customer_id = ${a}`)).rows[0].n, 1);
    assert.equal((await c.query(`select count(*)::int as n from orders where customer_id = ${b}`)).rows[0].n, 0);
  });
});

test('statements without a key: unsharded ones run on the default shard, scatter reads merge, what cannot merge is refused with the reason', async () => {
  const direct = await Promise.all([0, 1].map((i) => withClient(shards[i]!.uri('app'), async (c) => Number((await c.query('select count(*) from orders')).rows[0].count))));
  await withClient(uri(), async (c) => {
    assert.equal((await c.query('select 6 * 7 as n')).rows[0].n, 42);
    // Scatter-gather (ADR 0025): the count over both shards.
    assert.equal(Number((await c.query('select count(*) from orders')).rows[0].count), direct[0]! + direct[1]!);
    await assert.rejects(c.query("select string_agg(note, ',') from orders"), (e: pg.DatabaseError) => e.code === '0A000' && /customer_id = <literal or \$n>/.test(e.message) && /string_agg/.test(e.message));
    await c.query('begin');
    await assert.rejects(c.query('select * from orders where note = $1', ['x']), (e: pg.DatabaseError) => e.code === '0A000');
    await assert.rejects(c.query('select 1'), (e: pg.DatabaseError) => e.code === '25P02');
    await c.query('rollback');
    assert.equal((await c.query('select 1 as one')).rows[0].one, 1);
  });
});

test('SHOW pgop.route prints the shard and the keyspace id PostgreSQL computes', async () => {
  const expected = await withClient(shards[0]!.uri(), async (c) => (await c.query("select lpad(to_hex(hashint8extended(42, 0)), 16, '0') as id, hashint8extended(42, 0) >= 0 as low")).rows[0]);
  await withClient(uri(), async (c) => {
    const r = (await c.query('show pgop.route select * from orders where customer_id = 42')).rows[0];
    assert.equal(r.keyspace_id, expected.id);
    assert.equal(r.shard, expected.low ? '-80' : '80-');
    assert.equal(r.plan, 'single-shard');
    const s = (await c.query('SHOW pgop.route select * from orders')).rows[0];
    assert.equal(s.shard, null);
    assert.equal(s.plan, 'scatter');
    // Inside a transaction the answer comes from the linked backend, in order with other replies.
    await c.query('begin');
    await c.query("insert into orders (id, customer_id, note) values (7000, 42, 'x')");
    assert.equal((await c.query('show pgop.route select * from orders where customer_id = 42')).rows[0].keyspace_id, expected.id);
    await c.query('rollback');
  });
});
