// The router as a transaction pooler in front of a real PostgreSQL: clients see PostgreSQL's own behaviour (rows,
// errors with their SQLSTATE, COPY, cancel, prepared statements) while sharing a few backend connections.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { connect } from 'node:net';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import pg from 'pg';
import { serialize } from 'pg-protocol';
import { startRouterRig, withClient, run, APP_PASSWORD, type RouterRig } from './router-harness.js';

const POOL = 3;
let rig: RouterRig;

before(async () => {
  rig = await startRouterRig(POOL);
  await withClient(rig.uri(), (c) => c.query('create table items (id int primary key, name text not null)'));
});
after(async () => { await rig?.stop(); });

const appBackends = async () => Number((await rig.admin.query<{ n: string }>(
  "select count(*) as n from pg_stat_activity where usename = 'app' and backend_type = 'client backend'")).rows[0]!.n);

test('psql runs queries and \\d through the router', async () => {
  const r = await run('psql', [rig.uri(), '-X', '-v', 'ON_ERROR_STOP=1', '-c', 'select 40 + 2 as answer', '-c', '\\d items', '-c', '\\dt']);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /answer\s*\n-+\s*\n\s*42/);
  assert.match(r.stdout, /Table "public\.items"/);
  assert.match(r.stdout, /"items_pkey" PRIMARY KEY, btree \(id\)/);
  assert.match(r.stdout, /public \| items \| table \| app/);
});

test('node-postgres: simple, extended, binary results and a multi-statement query', async () => {
  await withClient(rig.uri(), async (c) => {
    const multi = (await c.query('select 1 as a; select 2 as b')) as unknown as pg.QueryResult[];
    assert.deepEqual(multi.map((x) => x.rows), [[{ a: 1 }], [{ b: 2 }]]);
    assert.deepEqual((await c.query('select $1::int * 2 as n, $2::text as t', [21, 'é'])).rows, [{ n: 42, t: 'é' }]);
    // Binary parameters and results: the router forwards the bytes, whatever their format.
    const bin = await c.query({ text: 'select $1::int4 as n, $2::bytea = $3::bytea as same', values: [7, Buffer.from([0, 1, 255]), '\\x0001ff'], binary: true } as pg.QueryConfig);
    assert.deepEqual(bin.rows[0], { n: 7, same: true });
    assert.equal((await c.query('select current_user as u')).rows[0].u, 'app');
    // Introspection works unsharded too, outside and inside a transaction (then answered through the backend).
    assert.equal((await c.query('SHOW pgop.route select * from items where id = 1')).rows[0].plan, 'unsharded');
    await c.query('begin');
    assert.equal((await c.query('  show PGOP.ROUTE select 1')).rows[0].reason, 'the router has no sharding configured');
    await c.query('commit');
    assert.equal((await c.query('show server_version_num')).rows[0].server_version_num.slice(0, 2), '15');
  });
});

test('named prepared statements survive transactions that land on other backends, with more clients than backends', async () => {
  const clients = 10;
  const rounds = 15;
  await Promise.all(Array.from({ length: clients }, (_, i) => withClient(rig.uri(), async (c) => {
    for (let r = 0; r < rounds; r++) {
      await c.query('begin');
      // Every client uses the same statement name for a different text: names are per client, as in PostgreSQL.
      const res = await c.query({ name: 'q', text: `select $1::int + ${i} as v, pg_backend_pid() as pid`, values: [r] });
      assert.equal(res.rows[0].v, r + i);
      await c.query({ name: 'ins', text: 'insert into items values ($1, $2)', values: [i * 1000 + r, `c${i}`] });
      await c.query('commit');
      // Outside a transaction, too: each statement is its own transaction.
      assert.equal((await c.query({ name: 'q', text: `select $1::int + ${i} as v, pg_backend_pid() as pid`, values: [1] })).rows[0].v, 1 + i);
    }
  })));
  const n = await withClient(rig.uri(), (c) => c.query('select count(*)::int as n from items where id < 100000'));
  assert.equal(n.rows[0].n, clients * rounds);
  assert.ok(await appBackends() <= POOL, 'never more backends than the pool size');
});

test('an error mid-transaction comes through with its SQLSTATE and the session recovers', async () => {
  await withClient(rig.uri(), async (c) => {
    await c.query('begin');
    await c.query("insert into items values (500000, 'x')");
    await assert.rejects(c.query('select 1 / 0'), (e: pg.DatabaseError) => e.code === '22012' && /division by zero/.test(e.message));
    await assert.rejects(c.query('select 1'), (e: pg.DatabaseError) => e.code === '25P02');
    await c.query('rollback');
    await assert.rejects(c.query("insert into items values (0, 'dup')"), (e: pg.DatabaseError) => e.code === '23505' && e.constraint === 'items_pkey');
    await assert.rejects(c.query({ name: 'bad', text: 'select nope from items' }), (e: pg.DatabaseError) => e.code === '42703');
    assert.equal((await c.query('select count(*)::int as n from items where id = 500000')).rows[0].n, 0);
  });
  const metrics = await rig.router.metrics.registry.metrics();
  assert.match(metrics, /pgop_router_errors_total\{sqlstate="22012"\} [1-9]/);
});

test('a client that vanishes mid-transaction never hands its open transaction to another client', async () => {
  const c = new pg.Client({ connectionString: rig.uri() });
  c.on('error', () => undefined);
  await c.connect();
  await c.query('begin');
  await c.query("insert into items values (600000, 'uncommitted')");
  (c as unknown as { connection: { stream: { destroy(): void } } }).connection.stream.destroy();
  for (let i = 0; i < 2 * POOL; i++) {
    await withClient(rig.uri(), async (d) => {
      assert.equal((await d.query('select count(*)::int as n from items where id = 600000')).rows[0].n, 0);
      assert.equal((await d.query('select now() = statement_timestamp() as fresh')).rows[0].fresh, true, 'not inside an inherited transaction');
    });
  }
});

test('COPY in and out through psql', async () => {
  const rows = Array.from({ length: 5000 }, (_, i) => `${200000 + i}\tname ${i} ü`).join('\n');
  const inn = await run('psql', [rig.uri(), '-X', '-v', 'ON_ERROR_STOP=1', '-c', '\\copy items from stdin'], { input: `${rows}\n\\.\n` });
  assert.equal(inn.code, 0, inn.stderr);
  const out = await run('psql', [rig.uri(), '-X', '-v', 'ON_ERROR_STOP=1', '-c', 'copy (select * from items where id >= 200000 order by id) to stdout']);
  assert.equal(out.code, 0, out.stderr);
  assert.equal(out.stdout.trimEnd(), rows);
});

test('a CancelRequest sent to the router cancels the query on the backend serving that client', async () => {
  await withClient(rig.uri(), async (c) => {
    const keys = c as unknown as { processID: number; secretKey: number };
    const running = c.query('select pg_sleep(60)');
    // Wait until the sleep is visible on the server, then cancel through the router with the router's key.
    for (let i = 0; i < 200; i++) {
      const r = await rig.admin.query("select count(*)::int as n from pg_stat_activity where query = 'select pg_sleep(60)' and state = 'active'");
      if (r.rows[0].n > 0) break;
      await new Promise((res) => setTimeout(res, 50));
    }
    const s = connect(rig.router.port, '127.0.0.1');
    await new Promise<void>((res) => s.on('connect', () => res()));
    s.end(serialize.cancel(keys.processID, keys.secretKey));
    await assert.rejects(running, (e: pg.DatabaseError) => e.code === '57014');
    assert.equal((await c.query('select 1 as one')).rows[0].one, 1);
  });
});

test('settings from the startup packet and from SET follow the client across backends', async () => {
  await Promise.all(['alpha', 'beta', 'gamma', 'delta'].map((name) => withClient(rig.uri(), async (c) => {
    for (let i = 0; i < 10; i++) {
      assert.equal((await c.query('show application_name')).rows[0].application_name, name);
      assert.equal((await c.query('show statement_timeout')).rows[0].statement_timeout, name === 'beta' ? '12345ms' : '0');
    }
    if (name === 'gamma') {
      await c.query("set application_name = 'gamma2'");
      for (let i = 0; i < 5; i++) assert.equal((await c.query('show application_name')).rows[0].application_name, 'gamma2');
    }
  }, { application_name: name, ...(name === 'beta' ? { statement_timeout: 12345 } : {}) })));
});

test('a hostile startup setting value stays a value (escaped as a literal when re-applied)', async () => {
  const name = "o'brien\\'; drop table items; --";
  await Promise.all([name, 'plain'].map((n) => withClient(rig.uri(), async (c) => {
    for (let i = 0; i < 5; i++) assert.equal((await c.query('show application_name')).rows[0].application_name, n);
  }, { application_name: n })));
  assert.ok((await withClient(rig.uri(), (c) => c.query('select 1 from items limit 1'))).rowCount !== null, 'items still exists');
});

test('wrong passwords and unknown roles are refused with 28P01; roles without a SCRAM verifier too', async () => {
  const bad = rig.uri().replace(encodeURIComponent(APP_PASSWORD), 'wrong');
  await assert.rejects(withClient(bad, async () => undefined), (e: pg.DatabaseError) => e.code === '28P01');
  await assert.rejects(withClient(bad.replace('app:', 'ghost:'), async () => undefined), (e: pg.DatabaseError) => e.code === '28P01' && /"ghost"/.test(e.message));
  await rig.admin.query("create role nologin_role password 'x'");
  await assert.rejects(withClient(`postgresql://nologin_role:x@127.0.0.1:${rig.router.port}/app`, async () => undefined), (e: pg.DatabaseError) => e.code === '28P01');
  await assert.rejects(withClient(rig.uri().replace('/app?', '/nosuchdb?'), async () => undefined), (e: pg.DatabaseError) => e.code === '3D000');
});

test('a password change applies at the next login without restarting the router', async () => {
  await rig.admin.query("create role rotating login password 'first'");
  await rig.admin.query('grant connect on database app to rotating');
  const uri = (pw: string) => `postgresql://rotating:${pw}@127.0.0.1:${rig.router.port}/app?sslmode=disable`;
  await withClient(uri('first'), (c) => c.query('select 1'));
  await rig.admin.query("alter role rotating password 'second'");
  await assert.rejects(withClient(uri('first'), async () => undefined), (e: pg.DatabaseError) => e.code === '28P01');
  assert.equal(await withClient(uri('second'), async (c) => (await c.query('select current_user as u')).rows[0].u), 'rotating');
});

test('pgbench select-only, simple and prepared, through the router with zero errors', async () => {
  const env = { PGPASSWORD: APP_PASSWORD };
  const host = ['-h', '127.0.0.1', '-p', String(rig.router.port), '-U', 'app'];
  const init = await run('pgbench', [...host, '-i', '-s', '1', '-q', 'app'], { env });
  assert.equal(init.code, 0, init.stderr);
  for (const mode of ['simple', 'extended', 'prepared']) {
    const r = await run('pgbench', [...host, '-S', '-M', mode, '-c', '8', '-j', '2', '-t', '150', '-n', 'app'], { env });
    assert.equal(r.code, 0, `${mode}: ${r.stderr}`);
    assert.match(r.stdout, /number of transactions actually processed: 1200\/1200/, mode);
    assert.match(r.stdout, /number of failed transactions: 0 /, mode);
  }
  // Pipeline mode: many Bind/Execute before one Sync, replies read back in order.
  const script = join(rig.pg.dir, 'pipeline.sql');
  writeFileSync(script, '\\set aid random(1, 100000)\n\\startpipeline\nselect abalance from pgbench_accounts where aid = :aid;\nselect :aid + 1;\nselect abalance from pgbench_accounts where aid = :aid;\n\\endpipeline\n');
  const pipe = await run('pgbench', [...host, '-f', script, '-M', 'prepared', '-c', '6', '-j', '2', '-t', '100', '-n', 'app'], { env, timeoutMs: 60_000 });
  assert.equal(pipe.code, 0, `${pipe.stderr} ${pipe.stdout}`);
  assert.match(pipe.stdout, /number of failed transactions: 0 /);
  const tpcb = await run('pgbench', [...host, '-M', 'prepared', '-c', '6', '-j', '2', '-t', '60', '-n', 'app'], { env });
  assert.equal(tpcb.code, 0, tpcb.stderr);
  assert.match(tpcb.stdout, /number of failed transactions: 0 /);
  assert.ok(await appBackends() <= POOL);
});
