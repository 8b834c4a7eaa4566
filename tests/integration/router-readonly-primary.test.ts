// A read-only router (backend.readOnly, ADR 0043) never writes on a primary: in front of a real PostgreSQL 15 that is
// not in recovery (what a -ro address gives for a moment after a promotion), its pool refuses the server and the
// client is told why (57P03), where the same router in read-write mode serves and writes.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { startRouterRig, withClient, APP_PASSWORD, type RouterRig } from './router-harness.js';
import { routerLookupRole } from './router-pg-harness.js';
import { startRouter, type RunningRouter } from '../../router/server.js';
import { createLogger } from '../../adapters/logging/logger.js';

let rig: RouterRig | undefined;
let ro: RunningRouter | undefined;
after(async () => { await ro?.close(); await rig?.stop(); });

test('read-write mode writes on the primary; read-only mode refuses it as not a hot standby (no fallback)', async () => {
  rig = await startRouterRig(2);
  await withClient(rig.uri(), (c) => c.query('create table t (x int); insert into t values (1)'));
  ro = await startRouter({
    listen: { host: '127.0.0.1', port: 0 }, backend: { host: '127.0.0.1', port: rig.pg.port, readOnly: true },
    auth: await routerLookupRole(rig.pg), pool: { size: 2 }, tls: null, metrics: null, sharding: null, buffer: { timeoutMs: 500, maxQueued: 10 },
  }, createLogger('router', {}, { write: () => undefined }));
  const roUri = `postgresql://app:${encodeURIComponent(APP_PASSWORD)}@127.0.0.1:${ro.port}/app?sslmode=disable`;
  await assert.rejects(withClient(roUri, (c) => c.query('insert into t values (2)')), (e: Error & { code?: string }) => {
    assert.equal(e.code, '57P03');
    assert.match(e.message, /read-only backend 127\.0\.0\.1:\d+ \(ready replicas only, no fallback to the primary\) .*not a hot standby/);
    return true;
  });
  await withClient(rig.uri(), async (c) => assert.equal((await c.query<{ n: string }>('select count(*) as n from t')).rows[0]?.n, '1', 'nothing written through the read-only router'));
});
