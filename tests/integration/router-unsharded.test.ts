// The router in front of an unsharded cluster (spec.router.enabled, ADR 0034) on real processes: a 2-instance
// PostgreSQL 15 cluster gets a `pgop router` on its -rw endpoint; `connect --router` names it (TLS verified against
// the cluster's CA, logins checked against the cluster's own roles), rows written through it are on the primary,
// and after a switchover the same router URI writes on the new primary. Turning the field off stops the router.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { LocalCluster, stateDir, sample } from '../helpers/cli.js';
import { query, eventually } from '../helpers/sql.js';
import { isAlive, readPid } from '../../adapters/local/processes.js';

const state = stateDir('pgop-router-unsharded-');
const cluster = new LocalCluster(state);
after(() => cluster.down());

const routerDir = join(state, 'routers', 'default', 'demo');
const manifest = (router: boolean, poolSize?: number) => {
  const file = join(state, `demo-${router}-${poolSize ?? ''}.yaml`);
  const extra = poolSize ? `    poolSize: ${poolSize}\n` : '';
  writeFileSync(file, `${readFileSync(sample('postgrescluster-ha.yaml'), 'utf8').replace('instances: 3', 'instances: 2')}  router:\n    enabled: ${router}\n${extra}`);
  return file;
};
const routerUri = async () => (await cluster.ok(['local', 'connect', 'demo', '--router'])).trim();
const primaryPort = async () => cluster.instanceSpec((await cluster.get()).status?.currentPrimary ?? '').port;

test('spec.router is refused on a sharded cluster (it always has its router)', async () => {
  const file = join(state, 'shop.yaml');
  writeFileSync(file, `${readFileSync(sample('postgrescluster-sharded.yaml'), 'utf8')}  router: { enabled: true }\n`);
  const r = await cluster.run(['local', 'apply', '-f', file]);
  assert.notEqual(r.code, 0);
  assert.match(r.stderr, /spec\.router: a sharded cluster always has its router; spec\.router is for unsharded clusters/);
});

test('an unsharded cluster with spec.router.enabled gets a router on its -rw endpoint; connect --router names it', async () => {
  const up = await cluster.ok(['local', 'up', '-f', manifest(true), '--wait', '--timeout', '240']);
  assert.match(up, /router\s+pgop local connect demo --router/);
  const c = await cluster.get();
  const file = await eventually(async () => { try { return JSON.parse(readFileSync(join(routerDir, 'router.json'), 'utf8')) as Record<string, unknown>; } catch { return null; } }, (f) => f !== null, 60_000);
  assert.equal(file!.sharding, undefined, 'no routing table: a plain pooling proxy');
  assert.deepEqual(file!.backend, { host: '127.0.0.1', port: Number(c.status?.endpoints?.readWrite?.split(':')[1]), tls: { caFile: cluster.caFile(), servername: '127.0.0.1' } });
  assert.ok(isAlive(readPid(join(routerDir, 'router.pid'))), 'the router process runs');
  const uri = await routerUri();
  assert.match(uri, /^postgresql:\/\/app:[^@]+@127\.0\.0\.1:\d+\/app\?sslmode=verify-full&sslrootcert=/);
  assert.ok(uri.includes(encodeURIComponent(cluster.caFile())), 'verified against the cluster\'s own CA');
  const [row] = await eventually(() => query<{ port: number; standby: boolean; who: string; ssl: boolean }>(uri,
    'SELECT inet_server_port() AS port, pg_is_in_recovery() AS standby, current_user AS who, (SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()) AS ssl').catch(() => []),
  (rows) => rows.length === 1, 60_000);
  assert.deepEqual(row, { port: await primaryPort(), standby: false, who: 'app', ssl: true });
  const wrong = uri.replace(/^postgresql:\/\/app:[^@]+@/, 'postgresql://app:wrong@');
  await assert.rejects(query(wrong, 'SELECT 1'), /password authentication failed|SASL authentication failed/);
});

test('rows written through the router are on the primary', async () => {
  const uri = await routerUri();
  await query(uri, 'CREATE TABLE routed (id int PRIMARY KEY, note text)');
  await query(uri, 'INSERT INTO routed SELECT g, \'before\' FROM generate_series(1, 100) g');
  const [n] = await query<{ n: string; standby: boolean }>(await cluster.uri('primary'), 'SELECT count(*) AS n, pg_is_in_recovery() AS standby FROM routed');
  assert.deepEqual(n, { n: '100', standby: false });
});

test('after a switchover the same router URI writes on the new primary', async () => {
  const c = await cluster.get();
  const from = c.status?.currentPrimary ?? '';
  const to = (c.status?.instances ?? []).find((i) => i.name !== from)?.name ?? '';
  const uri = await routerUri();
  const out = await cluster.ok(['local', 'switchover', 'demo', '--to', to]);
  assert.match(out, new RegExp(`done: ${from} → ${to}`));
  // Writes may fail while the -rw endpoint moves; the router reconnects its pool on its own.
  let next = 101;
  await eventually(async () => {
    try { await query(uri, 'INSERT INTO routed VALUES ($1, \'after\')', [next]); next++; return true; } catch { return false; }
  }, (ok) => ok, 60_000);
  assert.equal(await routerUri(), uri, 'the router URI did not change');
  const [row] = await query<{ port: number; standby: boolean }>(uri, 'SELECT inet_server_port() AS port, pg_is_in_recovery() AS standby');
  assert.deepEqual(row, { port: cluster.instanceSpec(to).port, standby: false });
  const [n] = await query<{ before: string; after: string }>(`postgresql://app:${encodeURIComponent(cluster.secret('app'))}@127.0.0.1:${cluster.instanceSpec(to).port}/app?${cluster.tlsQuery()}`,
    'SELECT count(*) FILTER (WHERE note = \'before\') AS before, count(*) FILTER (WHERE note = \'after\') AS after FROM routed');
  assert.deepEqual(n, { before: '100', after: '1' });
});

test('spec.router.poolSize caps the router\'s backend connections: 6 concurrent transactions share 2', async () => {
  await cluster.ok(['local', 'apply', '-f', manifest(true, 2)]);
  await eventually(async () => { try { return (JSON.parse(readFileSync(join(routerDir, 'router.json'), 'utf8')) as { pool: { size: number } }).pool.size; } catch { return 0; } }, (n) => n === 2, 60_000);
  const uri = await routerUri();
  await eventually(() => query(uri, 'SELECT 1').then(() => true, () => false), (ok) => ok, 60_000);
  const primary = `postgresql://postgres:${encodeURIComponent(cluster.secret('superuser'))}@127.0.0.1:${await primaryPort()}/postgres?${cluster.tlsQuery()}`;
  // Only the router logs in as app here: its connections are the app backends.
  const appBackends = async () => Number((await query<{ n: string }>(primary, "SELECT count(*) AS n FROM pg_stat_activity WHERE usename = 'app' AND backend_type = 'client backend'"))[0]?.n);
  let most = 0;
  let running = true;
  const sampling = (async () => { while (running) { most = Math.max(most, await appBackends()); await new Promise((r) => setTimeout(r, 50)); } })();
  const tx = await Promise.allSettled(Array.from({ length: 6 }, () => query(uri, 'SELECT pg_sleep(0.4)')));
  running = false;
  await sampling;
  assert.deepEqual(tx.map((t) => t.status), Array(6).fill('fulfilled'), 'every transaction ran, waiting for a pooled connection');
  assert.ok(most >= 1 && most <= 2, `at most poolSize backends at once (saw ${most})`);
});

test('spec.router.enabled: false stops the router; connect --router then says how to get one', async () => {
  const pid = readPid(join(routerDir, 'router.pid'));
  await cluster.ok(['local', 'apply', '-f', manifest(false)]);
  await eventually(async () => isAlive(pid), (alive) => !alive, 60_000);
  const r = await cluster.run(['local', 'connect', 'demo', '--router']);
  assert.notEqual(r.code, 0);
  assert.match(r.stderr, /cluster demo has no router: set spec\.router\.enabled: true/);
});
