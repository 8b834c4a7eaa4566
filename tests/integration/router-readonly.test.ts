// The read-only router of an unsharded cluster (spec.router.readOnly, ADR 0043) on real processes: a 3-instance
// PostgreSQL 15 cluster gets a second `pgop router` on its -ro endpoint. Transactions through it land on hot standbys
// and spread over both replicas; a write gets PostgreSQL's own 25006; after a switchover it serves the new set of
// replicas (the promoted one left, the old primary joined); with every replica fenced it refuses logins (57P03)
// instead of falling back to the primary, and serves again once they are back.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import pg from 'pg';
import { LocalCluster, stateDir, sample } from '../helpers/cli.js';
import { query, eventually } from '../helpers/sql.js';
import { isAlive, readPid } from '../../adapters/local/processes.js';
import type { PostgresCluster } from '../../crds/postgrescluster.js';

const state = stateDir('pgop-router-ro-');
const cluster = new LocalCluster(state);
after(() => cluster.down());

const roDir = join(state, 'routers', 'default', 'demo.ro');
const manifest = (router: string, instances = 3) => {
  const file = join(state, `demo-${Math.random().toString(36).slice(2)}.yaml`);
  writeFileSync(file, `${readFileSync(sample('postgrescluster-ha.yaml'), 'utf8').replace('instances: 3', `instances: ${instances}`)}  router: ${router}\n`);
  return file;
};
const roUri = async () => (await cluster.ok(['local', 'connect', 'demo', '--router', '--read-only'])).trim();
const rwUri = async () => (await cluster.ok(['local', 'connect', 'demo', '--router'])).trim();
const allReady = (c: PostgresCluster) => c.status?.phase === 'Ready' && (c.status.instances ?? []).length === 3 && (c.status.instances ?? []).every((i) => i.ready);
const replicasOf = (c: PostgresCluster) => (c.status?.instances ?? []).map((i) => i.name).filter((n) => n !== c.status?.currentPrimary).sort();

interface Seen { port: number; standby: boolean }

/**
 * `n` clients through the read-only router, each holding a transaction open at once (so the pool opens `n` backend
 * connections), then each reporting where it runs. Which servers they landed on, and whether all were standbys.
 */
async function concurrentReads(uri: string, n: number): Promise<Seen[]> {
  const clients = Array.from({ length: n }, () => new pg.Client({ connectionString: uri, connectionTimeoutMillis: 15_000 }));
  for (const c of clients) c.on('error', () => undefined);
  try {
    await Promise.all(clients.map((c) => c.connect()));
    await Promise.all(clients.map((c) => c.query('BEGIN')));
    const rows = await Promise.all(clients.map(async (c) => (await c.query<Seen>('SELECT inet_server_port() AS port, pg_is_in_recovery() AS standby')).rows[0]!));
    await Promise.all(clients.map((c) => c.query('COMMIT')));
    return rows;
  } finally { await Promise.all(clients.map((c) => c.end().catch(() => undefined))); }
}

const ports = (rows: Seen[]) => [...new Set(rows.map((r) => r.port))].sort((a, b) => a - b);
const portsOf = (names: string[]) => names.map((n) => cluster.instanceSpec(n).port).sort((a, b) => a - b);

test('spec.router.readOnly needs enabled: true and at least 2 instances (CEL, checked by local admission)', async () => {
  let r = await cluster.run(['local', 'apply', '-f', manifest('{ enabled: false, readOnly: true }')]);
  assert.notEqual(r.code, 0);
  assert.match(r.stderr, /spec\.router\.readOnly: the read-only router comes with the read-write one: set enabled: true too/);
  r = await cluster.run(['local', 'apply', '-f', manifest('{ enabled: true, readOnly: true }', 1)]);
  assert.notEqual(r.code, 0);
  assert.match(r.stderr, /spec\.router\.readOnly: a read-only router serves the replicas: spec\.instances must be at least 2/);
});

test('a read-only router on the -ro endpoint: connect --router --read-only names it; reads land on both replicas', async () => {
  const up = await cluster.ok(['local', 'up', '-f', manifest('{ enabled: true, readOnly: true }'), '--wait', '--timeout', '240'], 300_000);
  assert.match(up, /router ro\s+pgop local connect demo --router --read-only/);
  const c = await cluster.waitFor('Ready', allReady, 60_000);
  const file = await eventually(async () => { try { return JSON.parse(readFileSync(join(roDir, 'router.json'), 'utf8')) as Record<string, unknown>; } catch { return null; } }, (f) => f !== null, 60_000);
  assert.deepEqual(file!.backend, { host: '127.0.0.1', port: Number(c.status?.endpoints?.readOnly?.split(':')[1]), tls: { caFile: cluster.caFile(), servername: '127.0.0.1' }, readOnly: true });
  assert.ok(isAlive(readPid(join(roDir, 'router.pid'))), 'the read-only router process runs');
  const uri = await roUri();
  assert.notEqual(uri, await rwUri(), 'its own port, beside the read-write router');
  assert.match(uri, /^postgresql:\/\/app:[^@]+@127\.0\.0\.1:\d+\/app\?sslmode=verify-full&sslrootcert=/);

  // A row written through the read-write router is read back through the read-only one (replication is asynchronous).
  const rw = await rwUri();
  await eventually(() => query(rw, 'CREATE TABLE IF NOT EXISTS notes (id int PRIMARY KEY, note text)').then(() => true), (ok) => ok, 60_000);
  await query(rw, 'INSERT INTO notes VALUES (1, \'written on the primary\')');
  await eventually(() => query<{ note: string }>(uri, 'SELECT note FROM notes WHERE id = 1').catch(() => []), (rows) => rows[0]?.note === 'written on the primary', 60_000);

  const rows = await concurrentReads(uri, 6);
  assert.ok(rows.every((r) => r.standby), `every transaction ran on a standby: ${JSON.stringify(rows)}`);
  assert.deepEqual(ports(rows), portsOf(replicasOf(c)), 'concurrent transactions spread over both replicas, none on the primary');
  // One client after another: idle connections are reused oldest first, so sessions rotate over the replicas too.
  const serial: Seen[] = [];
  for (let i = 0; i < 6; i++) serial.push(...await query<Seen>(uri, 'SELECT inet_server_port() AS port, pg_is_in_recovery() AS standby'));
  assert.deepEqual(ports(serial), portsOf(replicasOf(c)), `successive sessions reach both replicas: ${JSON.stringify(serial)}`);
});

test('a write through the read-only router fails with PostgreSQL\'s 25006; the session stays usable', async () => {
  const client = new pg.Client({ connectionString: await roUri() });
  client.on('error', () => undefined);
  await client.connect();
  try {
    await assert.rejects(client.query('INSERT INTO notes VALUES (2, \'refused\')'), (e: Error & { code?: string }) => {
      assert.equal(e.code, '25006');
      assert.match(e.message, /cannot execute INSERT in a read-only transaction/);
      return true;
    });
    await assert.rejects(client.query('CREATE TABLE t (x int)'), (e: Error & { code?: string }) => e.code === '25006');
    const { rows } = await client.query<{ n: string }>('SELECT count(*) AS n FROM notes');
    assert.equal(rows[0]?.n, '1');
  } finally { await client.end(); }
  const [n] = await query<{ n: string }>(await rwUri(), 'SELECT count(*) AS n FROM notes');
  assert.equal(n?.n, '1', 'nothing was written anywhere');
});

test('after a switchover the read-only router serves the new set of replicas', async () => {
  const before = await cluster.waitFor('Ready', allReady, 60_000);
  const from = before.status?.currentPrimary ?? '';
  const to = replicasOf(before)[0]!;
  const uri = await roUri();
  assert.match(await cluster.ok(['local', 'switchover', 'demo', '--to', to]), new RegExp(`done: ${from} → ${to}`));
  const after = await cluster.waitFor('Ready after the switchover', (x) => allReady(x) && x.status?.currentPrimary === to, 120_000);
  const wanted = portsOf(replicasOf(after));
  assert.ok(wanted.includes(cluster.instanceSpec(from).port) && !wanted.includes(cluster.instanceSpec(to).port));
  // The pool's connections to the promoted replica are cut by the endpoint; new ones go to the old primary, now a replica.
  const rows = await eventually(() => concurrentReads(uri, 6).catch(() => []), (r) => r.length === 6 && r.every((x) => x.standby) && ports(r).join() === wanted.join(), 90_000);
  assert.ok(!rows.some((r) => r.port === cluster.instanceSpec(to).port), 'nothing on the new primary');
  assert.equal(await roUri(), uri, 'the read-only router URI did not change');
  await assert.rejects(query(uri, 'INSERT INTO notes VALUES (3, \'refused\')'), (e: Error & { code?: string }) => e.code === '25006');
});

test('with every replica fenced it refuses logins with 57P03 instead of using the primary; unfenced it serves again', async () => {
  const c = await cluster.waitFor('Ready', allReady, 60_000);
  const replicas = replicasOf(c);
  const uri = await roUri();
  await cluster.ok(['local', 'fence', 'demo', ...replicas, '--wait'], 120_000);
  const err = await eventually(() => query(uri, 'SELECT 1').then(() => null, (e: Error & { code?: string }) => e), (e) => e?.code === '57P03', 90_000);
  assert.match(err!.message, /no ready replica answers behind the read-only router's backend .* does not fall back to the primary/);
  await cluster.ok(['local', 'unfence', 'demo', ...replicas]);
  await cluster.waitFor('Ready after unfencing', allReady, 180_000);
  const rows = await eventually(() => concurrentReads(uri, 6).catch(() => []), (r) => r.length === 6 && r.every((x) => x.standby) && ports(r).join() === portsOf(replicas).join(), 90_000);
  assert.ok(rows.length === 6);
});

test('spec.router.readOnly: false stops only the read-only router', async () => {
  const pid = readPid(join(roDir, 'router.pid'));
  const rwPid = readPid(join(state, 'routers', 'default', 'demo', 'router.pid'));
  await cluster.ok(['local', 'apply', '-f', manifest('{ enabled: true, readOnly: false }')]);
  await eventually(async () => isAlive(pid), (alive) => !alive, 60_000);
  assert.ok(isAlive(rwPid), 'the read-write router keeps running');
  const r = await cluster.run(['local', 'connect', 'demo', '--router', '--read-only']);
  assert.notEqual(r.code, 0);
  assert.match(r.stderr, /cluster demo has no read-only router: set spec\.router\.enabled: true and spec\.router\.readOnly: true/);
});
