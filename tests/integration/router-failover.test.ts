// The router against TLS-only shards (hostssl pg_hba, a CA of our own): verify-full towards every backend and the
// auth connection, per-shard server names, and buffering while a shard restarts at a new address that only a
// rewritten config file tells the router about.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { freePort, routerLookupRole, type ScratchPostgres } from './router-pg-harness.js';
import { startTlsPostgres, testCa, writeCa } from './router-tls-harness.js';
import { startRouter, type RunningRouter } from '../../router/server.js';
import { loadRouterConfig } from '../../router/config.js';
import { watchRouterConfig, type ConfigWatch } from '../../router/config-watch.js';
import { createLogger } from '../../adapters/logging/logger.js';
import { withClient } from './router-harness.js';
import type { KeyPairPem } from '../../adapters/certs/x509.js';

const PASSWORD = 'tls-app-pw';
const quiet = createLogger('router', {}, { write: () => undefined });
let dir = '';
let ca: KeyPairPem;
let caFile = '';
let shards: ScratchPostgres[] = [];
let lookup: { user: string; password: string; database: string };
const adminUri = (s: ScratchPostgres, db = 'postgres') => s.uri(db);
const direct = (s: ScratchPostgres) => `postgresql://app:${PASSWORD}@127.0.0.1:${s.port}/app?sslmode=no-verify`;

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'pgop-router-tls-'));
  ca = await testCa();
  caFile = writeCa(dir, ca);
  shards = await Promise.all([startTlsPostgres(ca, 'shard-a.pgop.test'), startTlsPostgres(ca, 'shard-b.pgop.test')]);
  let verifier = '';
  for (const [i, s] of shards.entries()) {
    await withClient(adminUri(s), async (c) => {
      if (i === 0) {
        await c.query(`create role app login password ${pg.escapeLiteral(PASSWORD)}`);
        verifier = (await c.query("select rolpassword from pg_authid where rolname = 'app'")).rows[0].rolpassword;
      } else await c.query(`create role app login password ${pg.escapeLiteral(verifier)}`);
      await c.query('create database app owner app');
    });
    await withClient(direct(s), (c) => c.query(`create table orders (id bigint primary key, customer_id bigint not null,
      check (hashint8extended(customer_id, 0) ${i === 0 ? '>=' : '<'} 0))`));
  }
  lookup = await routerLookupRole(shards[0]!);
});
after(async () => { await Promise.all(shards.map((s) => s.stop())); rmSync(dir, { recursive: true, force: true }); });

interface ConfigShape { servernames?: [string | null, string | null]; caFile?: string; ports?: [number, number]; tablesOnly?: boolean }

function configJson(o: ConfigShape = {}): unknown {
  const ports = o.ports ?? [shards[0]!.port, shards[1]!.port];
  const names = o.servernames ?? ['shard-a.pgop.test', 'shard-b.pgop.test'];
  return {
    listen: { host: '127.0.0.1', port: 0 },
    backend: { tls: { caFile: o.caFile ?? caFile } },
    auth: lookup,
    pool: { size: 4 },
    buffer: { timeoutMs: 30_000, maxQueued: 100 },
    sharding: {
      generation: 1,
      shards: [{ name: '-80', host: '127.0.0.1', port: ports[0], ...(names[0] ? { servername: names[0] } : {}) },
        { name: '80-', host: '127.0.0.1', port: ports[1], ...(names[1] ? { servername: names[1] } : {}) }],
      tables: { orders: { column: 'customer_id', type: 'integer' } },
    },
  };
}

async function routerFrom(file: string): Promise<RunningRouter> {
  return startRouter(loadRouterConfig({ config: file }, {}), quiet);
}

const routerUri = (r: RunningRouter) => `postgresql://app:${PASSWORD}@127.0.0.1:${r.port}/app?sslmode=disable`;

test('backends and the auth connection are reached over TLS verified against the CA and each shard\'s server name', async () => {
  const file = join(dir, 'ok.json');
  writeFileSync(file, JSON.stringify(configJson()));
  const router = await routerFrom(file);
  try {
    await withClient(routerUri(router), async (c) => {
      for (let k = 0; k < 40; k++) await c.query('insert into orders (id, customer_id) values ($1, $2)', [k, k]);
      assert.equal((await c.query('select count(*)::int as n from orders where customer_id = $1', [7])).rows[0].n, 1);
    });
    for (const s of shards) {
      const ssl = await withClient(adminUri(s), async (c) => (await c.query("select bool_and(s.ssl) as all_ssl, count(*)::int as n from pg_stat_ssl s join pg_stat_activity a using (pid) where a.usename = 'app'")).rows[0]);
      assert.ok(ssl.n > 0, 'the router holds pooled backends on every shard');
      assert.equal(ssl.all_ssl, true, 'every router backend uses TLS');
    }
  } finally { await router.close(); }
});

test('a certificate that does not name the expected server, or an unknown CA, is refused with the reason', async () => {
  const otherCa = await testCa('some other CA');
  const wrongName = join(dir, 'wrong-name.json');
  writeFileSync(wrongName, JSON.stringify(configJson({ servernames: ['shard-b.pgop.test', 'shard-b.pgop.test'] })));
  const wrongCa = join(dir, 'wrong-ca.json');
  writeFileSync(wrongCa, JSON.stringify({ ...(configJson({ caFile: writeCa(dir, otherCa, "other-ca.crt") }) as object), buffer: { timeoutMs: 0, maxQueued: 0 } }));
  for (const [file, why] of [[wrongName, /shard-b\.pgop\.test|altnames|Hostname/i], [wrongCa, /certificate|self.signed|verify|auth/i]] as const) {
    const router = await routerFrom(file).catch((e: Error) => e);
    if (router instanceof Error) { assert.match(router.message, why); continue; }
    try {
      const err = await withClient(routerUri(router), (c) => c.query('select 1')).then(() => null, (e: Error) => e);
      assert.ok(err, `${file}: a login through a backend that fails verification must fail`);
      assert.match(err.message, why);
    } finally { await router.close(); }
  }
});

test('a shard restarting at a new address: new transactions wait, the rewritten config releases them, no client sees an error', async () => {
  const file = join(dir, 'live.json');
  writeFileSync(file, JSON.stringify(configJson()));
  const router = await routerFrom(file);
  const watch: ConfigWatch = watchRouterConfig({ config: file }, router, quiet, { intervalMs: 100, signals: false });
  const errors: string[] = [];
  let stop = false;
  let done = 0;
  const inserted: number[] = [];
  try {
    const workers = Array.from({ length: 6 }, (_, w) => withClient(routerUri(router), async (c) => {
      for (let i = 0; !stop; i++) {
        const k = 100_000 + w * 10_000 + i;
        try {
          await c.query('insert into orders (id, customer_id) values ($1, $1)', [k]);
          inserted.push(k);
          done++;
        } catch (e) { errors.push((e as Error).message); return; }
      }
    }));
    while (done < 60) await new Promise((r) => setTimeout(r, 20));
    const before = done;
    // The "80-" shard goes away (fast shutdown: its sessions get 57P01) and comes back on another port.
    const newPort = await freePort();
    await shards[1]!.restart({ port: newPort });
    const beforeReload = done;
    // Clients of the other shard kept going; the moved shard's transactions are held, not failed.
    writeFileSync(file, JSON.stringify(configJson({ ports: [shards[0]!.port, newPort] })));
    const target = done + 120;
    while (done < target && errors.length === 0) await new Promise((r) => setTimeout(r, 20));
    stop = true;
    await Promise.all(workers);
    assert.deepEqual(errors, [], 'no client saw an error');
    assert.ok(beforeReload >= before);
    const buffered = (await router.metrics.registry.getSingleMetric('pgop_router_buffered_transactions_total')!.get()).values.find((v) => v.labels.shard === '80-');
    assert.ok((buffered?.value ?? 0) > 0, 'transactions for 80- were buffered');
  } finally { stop = true; watch.stop(); await router.close(); }
  // Every acknowledged insert is on its shard (the CHECK constraints prove placement).
  const counts = await Promise.all(shards.map((s) => withClient(direct(s), async (c) =>
    Number((await c.query('select count(*) from orders where id = any($1::bigint[])', [inserted])).rows[0].count))));
  assert.equal(counts[0]! + counts[1]!, inserted.length);
});

test('a shard that turns read-only (demotion) holds writes until it takes them again', async () => {
  const file = join(dir, 'ro.json');
  writeFileSync(file, JSON.stringify(configJson()));
  const router = await routerFrom(file);
  try {
    await withClient(routerUri(router), async (c) => {
      let k = 300_000;
      while ((await c.query(`show pgop.route select * from orders where customer_id = ${k}`)).rows[0].shard !== '80-') k++;
      await c.query('insert into orders (id, customer_id) values ($1, $1)', [k]);
      await withClient(adminUri(shards[1]!), async (a) => { await a.query('alter system set default_transaction_read_only = on'); await a.query('select pg_reload_conf()'); });
      // The server applies the reload on its own schedule; wait until a direct session sees it.
      await withClient(direct(shards[1]!), async (d) => { while ((await d.query('show default_transaction_read_only')).rows[0].default_transaction_read_only !== 'on') await new Promise((r) => setTimeout(r, 50)); });
      const write = c.query('insert into orders (id, customer_id) values ($1, $1)', [k + 1_000_000_000]);
      let settled = false;
      void write.then(() => { settled = true; }, () => { settled = true; });
      const bufferedFor80 = async () => (await router.metrics.registry.getSingleMetric('pgop_router_buffered_transactions_total')!.get()).values.find((v) => v.labels.shard === '80-')?.value ?? 0;
      while (await bufferedFor80() === 0 && !settled) await new Promise((r) => setTimeout(r, 50));
      assert.equal(settled, false, 'the write is held while the shard is read-only');
      await withClient(adminUri(shards[1]!), async (a) => { await a.query('alter system reset default_transaction_read_only'); await a.query('select pg_reload_conf()'); });
      await write;
      assert.equal((await c.query('select count(*)::int as n from orders where customer_id = $1', [k + 1_000_000_000])).rows[0].n, 1);
    });
  } finally { await router.close(); }
});
