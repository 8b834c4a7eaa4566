// The router's verifier lookup as the least-privilege role pgop_router (ADR 0039), against a real PostgreSQL 15:
// who may log in through it, what the lookup role can read, a rotated lookup password applied by reload, and a
// missing lookup function named in the refusal rather than passed off as a wrong password.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import type pg from 'pg';
import { startScratchPostgres, routerLookupRole, type ScratchPostgres } from './router-pg-harness.js';
import { startRouter, type RunningRouter } from '../../router/server.js';
import type { RouterConfig } from '../../router/config.js';
import { createLogger } from '../../adapters/logging/logger.js';
import { ensureRouterAuth } from '../../adapters/router/router-auth-sql.js';
import { withClient } from './router-harness.js';

const quiet = createLogger('router', {}, { write: () => undefined });
let server: ScratchPostgres;
let router: RunningRouter;
let config: RouterConfig;
const uri = (user: string, password: string) => `postgresql://${encodeURIComponent(user)}:${encodeURIComponent(password)}@127.0.0.1:${router.port}/postgres?sslmode=disable`;
const code = (p: Promise<unknown>) => p.then(() => 'ok', (e: { code?: string; message: string }) => e.code ?? e.message);

before(async () => {
  server = await startScratchPostgres();
  await withClient(server.uri(), async (c) => {
    await c.query("create role plain login password 'pla1n-pw'");
    await c.query("create role lapsed login password 'lapsed-pw' valid until '2000-01-01'");
    await c.query("create role mover login bypassrls password 'mover-pw'");
  });
  config = {
    listen: { host: '127.0.0.1', port: 0 }, backend: { host: '127.0.0.1', port: server.port },
    auth: await routerLookupRole(server), pool: { size: 2 }, tls: null, metrics: null, sharding: null,
  };
  router = await startRouter(config, quiet);
});
after(async () => { await router?.close(); await server?.stop(); });

test('a plain SQL role logs in and runs as itself; superusers, BYPASSRLS, expired and operator roles are refused like a wrong password', async () => {
  assert.deepEqual(await withClient(uri('plain', 'pla1n-pw'), async (c) => (await c.query('select current_user as u, rolsuper from pg_roles where rolname = current_user')).rows),
    [{ u: 'plain', rolsuper: false }]);
  assert.equal(await code(withClient(uri('postgres', server.password), (c) => c.query('select 1'))), '28P01', 'a superuser');
  assert.equal(await code(withClient(server.uri(), (c) => c.query('select 1'))), 'ok', 'who can still log in to the instance directly');
  assert.equal(await code(withClient(uri('mover', 'mover-pw'), (c) => c.query('select 1'))), '28P01', 'a BYPASSRLS role');
  assert.equal(await code(withClient(uri('lapsed', 'lapsed-pw'), (c) => c.query('select 1'))), '28P01', 'an expired role');
  assert.equal(await code(withClient(uri('pgop_router', config.auth.password), (c) => c.query('select 1'))), '28P01', 'the lookup role itself');
});

test('the lookup role has no superuser and cannot read pg_authid; the function gives it ordinary roles\' verifiers only', async () => {
  const direct = `postgresql://pgop_router:${encodeURIComponent(config.auth.password)}@127.0.0.1:${server.port}/postgres?sslmode=disable`;
  await withClient(direct, async (c) => {
    assert.deepEqual((await c.query('select rolsuper from pg_roles where rolname = current_user')).rows, [{ rolsuper: false }]);
    await assert.rejects(c.query('select rolpassword from pg_authid'), (e: pg.DatabaseError) => e.code === '42501');
    assert.equal((await c.query("select * from pgop_router.lookup('postgres')")).rowCount, 0);
    assert.match((await c.query("select passwd from pgop_router.lookup('plain')")).rows[0].passwd, /^SCRAM-SHA-256\$/);
  });
  // Nobody else may call it.
  await withClient(uri('plain', 'pla1n-pw'), async (c) => {
    await assert.rejects(c.query("select * from pgop_router.lookup('plain')"), (e: pg.DatabaseError) => e.code === '42501');
  });
});

test('a rotated lookup password is applied by reload, without a restart', async () => {
  await ensureRouterAuth({ host: server.dir, port: server.port, user: 'postgres', password: server.password }, 'rotated-lookup-pw');
  // The lookup pool's open connections would hide the change: end them, so the next lookup logs in anew.
  await withClient(server.uri(), (c) => c.query("select pg_terminate_backend(pid) from pg_stat_activity where usename = 'pgop_router'"));
  const refused = await code(withClient(uri('plain', 'pla1n-pw'), (c) => c.query('select 1')));
  assert.notEqual(refused, 'ok', 'the old lookup password no longer logs in');
  config = { ...config, auth: { ...config.auth, password: 'rotated-lookup-pw' } };
  await router.reload(config);
  assert.equal(await code(withClient(uri('plain', 'pla1n-pw'), (c) => c.query('select 1'))), 'ok');
});

test('a missing lookup function is named in the refusal', async () => {
  const bare = await startScratchPostgres();
  const r = await startRouter({ ...config, backend: { host: '127.0.0.1', port: bare.port }, auth: { user: 'postgres', password: bare.password, database: 'postgres' } }, quiet);
  try {
    await assert.rejects(withClient(`postgresql://postgres:${encodeURIComponent(bare.password)}@127.0.0.1:${r.port}/postgres?sslmode=disable`, (c) => c.query('select 1')),
      (e: pg.DatabaseError) => e.code === '08006' && /pgop_router\.lookup\(text\) is not usable/.test(e.message));
  } finally { await r.close(); await bare.stop(); }
});
