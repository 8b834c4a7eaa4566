// Pooler end to end on the local platform: real PgBouncer 1.18 in front of a real 2-instance PostgreSQL 15
// cluster. Clients log in through auth_query (no userlist of passwords), a parameter change is reloaded under a
// held connection, pgbench runs through PAUSE/RESUME without a failed transaction, and a switchover reaches the
// new primary with no manual step, failing writes only until the pooler reports the new target.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync, readFileSync, statSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { spawn } from 'node:child_process';
import pg from 'pg';
import { LocalCluster, stateDir, sample } from '../helpers/cli.js';
import { query, eventually } from '../helpers/sql.js';
import { RowWriter, missingAcked } from '../helpers/writer.js';
import type { Pooler } from '../../crds/pooler.js';

const state = stateDir('pgop-pooler-');
const cluster = new LocalCluster(state);
after(() => cluster.down());

const POOLER = 'demo-pooler';
// statement_timeout: the row writer sets it as a startup parameter, which PgBouncer refuses unless told to ignore it.
const TUNED = { server_idle_timeout: '123', log_stats: '0', ignore_startup_parameters: 'statement_timeout' };
const poolerFile = (extra: { paused?: boolean; parameters?: Record<string, string> } = {}) => {
  const file = join(state, `pooler-${Math.random().toString(36).slice(2)}.yaml`);
  const params = Object.entries(extra.parameters ?? {}).map(([k, v]) => `      ${k}: ${JSON.stringify(v)}`).join('\n');
  writeFileSync(file, [
    'apiVersion: postgres.keiailab.io/v1alpha1', 'kind: Pooler', `metadata: { name: ${POOLER} }`, 'spec:',
    '  cluster: { name: demo }', '  type: rw', '  instances: 2', `  paused: ${extra.paused ?? false}`,
    '  pgbouncer:', '    poolMode: transaction', '    defaultPoolSize: 10',
    ...(params ? ['    parameters:', params] : []), '',
  ].join('\n'));
  return file;
};
const getPooler = async () => JSON.parse(await cluster.ok(['local', 'get', 'pooler', POOLER, '-o', 'json'])) as Pooler;
const waitPooler = async (what: string, ok: (p: Pooler) => boolean, timeoutMs = 60_000) =>
  eventually(getPooler, ok, timeoutMs).catch((e: Error) => { throw new Error(`${what}: ${e.message}\n${tail(join(state, 'daemon.log'), 15)}`); });
const tail = (f: string, n: number) => { try { return readFileSync(f, 'utf8').trimEnd().split('\n').slice(-n).join('\n'); } catch { return ''; } };
const poolerUri = async () => (await cluster.ok(['local', 'connect', 'demo', '--pooler', POOLER])).trim();
const adminUri = (p: Pooler) => {
  const password = readFileSync(join(state, 'clusters', 'default', 'demo', 'secrets', 'pooler.password'), 'utf8').trim();
  // The pooler serves TLS with the cluster's own certificate, so clients verify it against the cluster CA.
  const ca = join(state, 'clusters', 'default', 'demo', 'tls', 'ca.crt');
  return `postgresql://pgop_pooler:${encodeURIComponent(password)}@${p.status?.endpoint ?? ''}/pgbouncer?sslmode=verify-full&sslrootcert=${encodeURIComponent(ca)}`;
};
/** The admin console speaks the simple protocol only: one statement, no parameters. */
async function admin(p: Pooler, command: string): Promise<Record<string, string>[]> {
  const c = new pg.Client({ connectionString: adminUri(p) });
  c.on('error', () => undefined);
  await c.connect();
  try { return (await c.query<Record<string, string>>(command)).rows; } finally { await c.end(); }
}
const pgbouncerPids = () => [0, 1].map((i) => readFileSync(join(state, 'poolers', 'default', POOLER, `pgbouncer-${i}.pid`), 'utf8').trim());
const primaryPort = async () => cluster.instanceSpec((await cluster.get()).status?.currentPrimary ?? '').port;

test('a Pooler in front of the cluster: clients log in through auth_query and reach the primary', async () => {
  const manifest = join(state, 'demo.yaml');
  writeFileSync(manifest, readFileSync(sample('postgrescluster-ha.yaml'), 'utf8').replace('instances: 3', 'instances: 2'));
  await cluster.ok(['local', 'up', '-f', manifest, '--wait', '--timeout', '240']);
  await cluster.ok(['local', 'apply', '-f', poolerFile()]);
  const p = await waitPooler('Pooler Ready', (x) => x.status?.phase === 'Ready');
  const c = await cluster.get();
  assert.equal(p.status?.target, c.status?.currentPrimary);
  assert.deepEqual([p.status?.instances, p.status?.readyInstances, p.status?.paused], [2, 2, false]);
  const [row] = await query<{ port: number; standby: boolean; who: string }>(await poolerUri(), 'SELECT inet_server_port() AS port, pg_is_in_recovery() AS standby, current_user AS who');
  assert.deepEqual(row, { port: await primaryPort(), standby: false, who: 'app' });
  // The auth file holds the auth user's own line only, readable by its owner alone; no client password is in it.
  // Under the state dir when the postgres OS user can reach it, else under the platform's data root.
  const inside = join(state, 'poolers', 'default', POOLER, 'run', 'auth.txt');
  const dataRoot = (JSON.parse(readFileSync(join(state, 'platform.json'), 'utf8')) as { dataRoot: string }).dataRoot;
  const authFile = existsSync(inside) ? inside : join(dataRoot, 'poolers', 'default', POOLER, 'auth.txt');
  assert.equal(statSync(authFile).mode & 0o777, 0o600);
  assert.deepEqual(readFileSync(authFile, 'utf8').trim().split('\n').map((l) => l.split(' ')[0]), ['"pgop_pooler"']);
  assert.ok(!readFileSync(authFile, 'utf8').includes(cluster.secret('app')));
  // The lookup never hands out the superuser's verifier: the superuser cannot log in through the pooler.
  const superThroughPooler = (await poolerUri()).replace(/^postgresql:\/\/app:[^@]+@/, `postgresql://postgres:${cluster.secret('superuser')}@`).replace(/\/app\?/, '/postgres?');
  await assert.rejects(query(superThroughPooler, 'SELECT 1'));
  const wrong = (await poolerUri()).replace(/^postgresql:\/\/app:[^@]+@/, 'postgresql://app:wrong@');
  await assert.rejects(query(wrong, 'SELECT 1'), /password authentication failed|SASL authentication failed/);
});

test('operator-owned, unknown and multi-line PgBouncer parameters are refused at the door with the field named', async () => {
  for (const [params, why] of [
    [{ auth_file: '/etc/passwd' }, /spec\.pgbouncer\.parameters.*auth_file is a PgBouncer setting the operator manages/s],
    [{ Listen_Port: '1' }, /spec\.pgbouncer\.parameters.*manages/s],
    [{ include_this: 'x' }, /spec\.pgbouncer\.parameters.*not a PgBouncer setting a Pooler may set/s],
    [{ server_reset_query: 'DISCARD ALL\nauth_type = trust' }, /spec\.pgbouncer\.parameters.*control character/s],
  ] as const) {
    const r = await cluster.run(['local', 'apply', '-f', poolerFile({ parameters: params })]);
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, why);
  }
  assert.equal((await getPooler()).metadata.generation, 1);
});

test('a parameter change is reloaded without dropping a held client connection', async () => {
  const before = await getPooler();
  const pids = pgbouncerPids();
  const held = new pg.Client({ connectionString: await poolerUri() });
  held.on('error', () => undefined);
  await held.connect();
  try {
    await held.query('SELECT 1');
    await cluster.ok(['local', 'apply', '-f', poolerFile({ parameters: TUNED })]);
    const p = await waitPooler('generation 2 applied', (x) => x.status?.observedGeneration === 2 && x.status.phase === 'Ready');
    assert.equal(p.status?.endpoint, before.status?.endpoint);
    const config = await admin(p, 'SHOW CONFIG');
    assert.equal(config.find((r) => r.key === 'server_idle_timeout')?.value, '123');
    const [row] = (await held.query<{ ok: number }>('SELECT 1 AS ok')).rows;
    assert.equal(row?.ok, 1);
    assert.deepEqual(pgbouncerPids(), pids, 'reloaded, not restarted');
  } finally {
    await held.end();
  }
});

/** pgbench through the pooler; resolves with its exit code and output. */
function pgbench(uri: string, args: string[]): Promise<{ code: number; out: string }> {
  return new Promise((resolve) => {
    const child = spawn('/usr/lib/postgresql/15/bin/pgbench', [...args, uri], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (d: Buffer) => { out += d.toString(); });
    child.stderr.on('data', (d: Buffer) => { out += d.toString(); });
    child.on('close', (code) => resolve({ code: code ?? -1, out }));
  });
}

test('pgbench runs through PAUSE and RESUME with zero failed transactions; status shows the pause', async () => {
  const uri = await poolerUri();
  await query(uri, 'CREATE TABLE pause_log (id bigserial PRIMARY KEY, client int)');
  const script = join(state, 'pause.sql');
  // A short sleep per transaction keeps pgbench running long enough to be paused mid-run on any machine.
  writeFileSync(script, 'INSERT INTO pause_log (client) VALUES (:client_id);\n\\sleep 10 ms\n');
  const clients = 4;
  const perClient = 1500;
  const bench = pgbench(uri, ['-n', '-c', String(clients), '-t', String(perClient), '-f', script]);
  await eventually(() => query<{ n: string }>(uri, 'SELECT count(*) AS n FROM pause_log'), (r) => Number(r[0]?.n) > 50);
  await cluster.ok(['local', 'apply', '-f', poolerFile({ paused: true, parameters: TUNED })]);
  const paused = await waitPooler('Paused', (x) => x.status?.paused === true && x.status.observedGeneration === 3);
  assert.equal(paused.status?.phase, 'Paused');
  assert.equal(paused.status?.conditions?.find((c) => c.type === 'Paused')?.status, 'True');
  // Nothing moves while paused: the count read directly on the primary stays put across two reads.
  const direct = `postgresql://app:${cluster.secret('app')}@127.0.0.1:${await primaryPort()}/app?${cluster.tlsQuery()}`;
  const [a] = await query<{ n: string }>(direct, 'SELECT count(*) AS n FROM pause_log');
  await new Promise((r) => setTimeout(r, 1000));
  const [b] = await query<{ n: string }>(direct, 'SELECT count(*) AS n FROM pause_log');
  assert.equal(a?.n, b?.n);
  assert.ok(Number(a?.n) < clients * perClient, 'pgbench was still running when the pooler paused');
  await cluster.ok(['local', 'apply', '-f', poolerFile({ paused: false, parameters: TUNED })]);
  await waitPooler('Resumed', (x) => x.status?.paused === false && x.status.phase === 'Ready');
  const result = await bench;
  assert.equal(result.code, 0, result.out);
  assert.doesNotMatch(result.out, /aborted|error/i);
  assert.match(result.out, new RegExp(`number of transactions actually processed: ${clients * perClient}/${clients * perClient}`));
  const [n] = await query<{ n: string }>(uri, 'SELECT count(*) AS n FROM pause_log');
  assert.equal(Number(n?.n), clients * perClient);
});

test('after a switchover the pooler reaches the new primary by itself; writes fail only until it reroutes', async () => {
  const c = await cluster.get();
  const from = c.status?.currentPrimary ?? '';
  const to = (c.status?.instances ?? []).find((i) => i.name !== from)?.name ?? '';
  const uri = await poolerUri();
  const writer = new RowWriter(() => uri, 'pooler_writes');
  await writer.prepare();
  writer.start();
  after(() => writer.stop());
  await eventually(async () => writer.acked.length, (n) => n > 20);
  const requested = Date.now();
  const out = await cluster.ok(['local', 'switchover', 'demo', '--to', to]);
  assert.match(out, new RegExp(`done: ${from} → ${to}`));
  await waitPooler('rerouted', (x) => x.status?.target === to);
  const rerouted = Date.now();
  const acksAtReroute = writer.acked.length;
  await eventually(async () => writer.acked.length, (n) => n > acksAtReroute + 200, 60_000);
  const report = await writer.stop();
  const outside = report.failures.filter((f) => f.at < requested || f.at > rerouted);
  assert.deepEqual(outside, [], 'writes failed outside the switchover window');
  assert.deepEqual(await missingAcked(await cluster.uri('primary'), report.acked, 'pooler_writes'), []);
  const [row] = await query<{ port: number; standby: boolean }>(uri, 'SELECT inet_server_port() AS port, pg_is_in_recovery() AS standby');
  assert.deepEqual(row, { port: cluster.instanceSpec(to).port, standby: false });
});

test('deleting the Pooler stops its PgBouncer processes', async () => {
  const pids = pgbouncerPids().map((l) => Number(l.split(' ')[0]));
  await cluster.ok(['local', 'delete', 'pooler', POOLER]);
  await eventually(async () => pids.filter((pid) => { try { process.kill(pid, 0); return true; } catch { return false; } }), (alive) => alive.length === 0);
});
