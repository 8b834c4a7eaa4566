// TLS by default on the local platform, on real PostgreSQL: plain TCP is refused, the URI `pgop local connect`
// prints verifies the server against the cluster CA, replication runs over TLS, and a certificate rotation under a
// busy held-open session drops nothing while new connections get the new certificate.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import pg from 'pg';
import { LocalCluster, stateDir, sample } from '../helpers/cli.js';
import { query, eventually, uriFor } from '../helpers/sql.js';
import { servedCertificate } from '../helpers/tls.js';
import { createCa } from '../../adapters/certs/x509.js';
import { lookupUser, isRoot } from '../../adapters/os/os-user.js';

// Short-lived certificates so the operator rotates during the test: renewed once 20 s old.
process.env.PGOP_TLS_CERT_VALIDITY = '60s';
process.env.PGOP_TLS_RENEW_BEFORE = '40s';
process.env.PGOP_TLS_CHECK_MS = '2000';
process.env.PGOP_TLS_WATCH_MS = '1000';

const state = stateDir('pgop-tls-');
const cluster = new LocalCluster(state);
after(() => cluster.down());

const manifest = join(state, 'demo-2.yaml');
writeFileSync(manifest, readFileSync(sample('postgrescluster-ha.yaml'), 'utf8').replace('instances: 3', 'instances: 2'));
const withoutTls = (uri: string) => uri.replace(/\?.*$/, '?sslmode=disable');
const superuser = (instance: string) => uriFor('postgres', cluster.secret('superuser'), cluster.instanceSpec(instance).port, 'postgres', cluster.caFile());
const ca = () => readFileSync(cluster.caFile(), 'utf8');

test('a cluster comes up with TLS on; the printed URI is verify-full against the cluster CA', async () => {
  await cluster.ok(['local', 'up', '-f', manifest, '--wait', '--timeout', '240']);
  const uri = await cluster.uri('primary');
  assert.match(uri, /\?sslmode=verify-full&sslrootcert=[^&]+ca\.crt$/);
  assert.equal(decodeURIComponent(/sslrootcert=([^&]+)/.exec(uri)?.[1] ?? ''), cluster.caFile());
  const [row] = await query<{ ssl: boolean; version: string }>(uri, 'SELECT ssl, version FROM pg_stat_ssl WHERE pid = pg_backend_pid()');
  assert.equal(row?.ssl, true);
  assert.match(row?.version ?? '', /^TLSv1\.[23]$/);
  const [ro] = await query<{ ssl: boolean }>(await cluster.uri('replica'), 'SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()');
  assert.equal(ro?.ssl, true);
});

test('plain TCP is refused, on the endpoints and on every instance, for the app owner and the superuser', async () => {
  const targets = [await cluster.uri('primary'), await cluster.uri('replica'), await cluster.uri('primary', 'postgres'), superuser('demo-1'), superuser('demo-2')];
  for (const uri of targets) {
    await assert.rejects(query(withoutTls(uri), 'SELECT 1'), /pg_hba\.conf .*no encryption/, uri.replace(/:[^:@]+@/, ':***@'));
  }
});

test('a server certificate from another CA is not trusted, and the CA key is not where clients look', async () => {
  const other = await createCa('someone else', new Date(), 86_400_000);
  const file = join(tmpdir(), `pgop-other-ca-${process.pid}.crt`);
  writeFileSync(file, other.cert);
  const uri = (await cluster.uri('primary')).replace(/sslrootcert=[^&]+/, `sslrootcert=${encodeURIComponent(file)}`);
  await assert.rejects(query(uri, 'SELECT 1'), /self[- ]signed|unable to verify|certificate/i);
  const tlsDir = join(state, 'clusters', 'default', 'demo', 'tls');
  assert.doesNotMatch(readFileSync(join(tlsDir, 'ca.crt'), 'utf8'), /PRIVATE KEY/);
  assert.equal(statSync(join(state, 'clusters', 'default', 'demo', 'secrets', 'ca.key')).mode & 0o777, 0o600);
  // The agent never learns where the CA key is.
  assert.doesNotMatch(JSON.stringify(cluster.instanceSpec('demo-1')), /ca\.key/);
});

test('postgres reads its own copies of the key: 0600, owned by the postgres user', () => {
  const spec = cluster.instanceSpec('demo-1');
  const owner = isRoot() ? lookupUser('postgres').uid : process.getuid?.();
  for (const f of ['server.key', 'server.crt', 'ca.crt']) {
    const st = statSync(join(spec.runDir, 'tls', f));
    assert.equal(st.mode & 0o777, 0o600, f);
    assert.equal(st.uid, owner, f);
  }
  const conf = readFileSync(join(spec.dataDir, 'pgop.conf'), 'utf8');
  assert.match(conf, /^ssl = 'on'$/m);
  assert.match(conf, new RegExp(`^ssl_key_file = '${join(spec.runDir, 'tls', 'server.key')}'$`, 'm'));
});

test('replication runs over TLS, verify-full against the CA', async () => {
  const rows = await eventually(() => query<{ application_name: string; ssl: boolean }>(superuser('demo-1'),
    'SELECT r.application_name, s.ssl FROM pg_stat_replication r JOIN pg_stat_ssl s ON s.pid = r.pid ORDER BY 1'), (r) => r.length === 1);
  assert.deepEqual(rows, [{ application_name: 'demo-2', ssl: true }]);
  const [conninfo] = await query<{ primary_conninfo: string }>(superuser('demo-2'), 'SHOW primary_conninfo');
  assert.match(conninfo?.primary_conninfo ?? '', /sslmode=verify-full sslrootcert=\S+ca\.crt/);
});

test('rotation: a new certificate is served after renewal while a held-open session keeps working', async () => {
  const before = await servedCertificate('127.0.0.1', cluster.instanceSpec('demo-1').port, ca());
  const held = new pg.Client({ connectionString: await cluster.uri('primary') });
  await held.connect();
  const pid = (await held.query<{ pid: number }>('SELECT pg_backend_pid() AS pid')).rows[0]?.pid;
  await held.query('CREATE TABLE ticks (n int)');
  let n = 0;
  let failure: unknown = null;
  let running = true;
  const loop = (async () => {
    while (running) {
      try { await held.query('INSERT INTO ticks VALUES ($1)', [++n]); } catch (e) { failure = e; return; }
      await new Promise((r) => setTimeout(r, 50));
    }
  })();
  // The operator renews once the certificate is 20 s old; every instance reloads and serves the new one.
  const served = await eventually(async () => Promise.all(['demo-1', 'demo-2'].map((i) => servedCertificate('127.0.0.1', cluster.instanceSpec(i).port, ca()))),
    (certs) => certs.every((c) => c.serialNumber !== before.serialNumber), 90_000);
  running = false;
  await loop;
  assert.equal(failure, null, `the held-open session failed: ${String(failure)}`);
  const onDisk = new (await import('node:crypto')).X509Certificate(readFileSync(join(state, 'clusters', 'default', 'demo', 'tls', 'server.crt')));
  assert.ok(served.some((c) => c.serialNumber === onDisk.serialNumber) || Date.parse(onDisk.validFrom) > Date.parse(before.valid_from), 'the served certificate is the renewed one');
  assert.ok(served.every((c) => Date.parse(c.valid_to) > Date.parse(before.valid_to)), 'the new certificate expires later');
  // Same backend, every insert landed: no restart, no dropped session.
  const after = await held.query<{ pid: number; count: string; ssl: boolean }>('SELECT pg_backend_pid() AS pid, (SELECT count(*) FROM ticks) AS count, (SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()) AS ssl');
  assert.equal(after.rows[0]?.pid, pid);
  assert.equal(Number(after.rows[0]?.count), n);
  assert.equal(after.rows[0]?.ssl, true);
  await held.end();
  // Replication kept streaming over TLS through the reload, and the rows reached the replica.
  const rows = await eventually(() => query<{ ssl: boolean }>(superuser('demo-1'), 'SELECT s.ssl FROM pg_stat_replication r JOIN pg_stat_ssl s ON s.pid = r.pid'), (r) => r.length === 1);
  assert.equal(rows[0]?.ssl, true);
  const replicaApp = uriFor('app', cluster.secret('app'), cluster.instanceSpec('demo-2').port, 'app', cluster.caFile());
  await eventually(() => query<{ c: string }>(replicaApp, 'SELECT count(*) AS c FROM ticks'), (r) => Number(r[0]?.c) === n);
  // New connections get the new certificate and still verify.
  const [row] = await query<{ ssl: boolean }>(await cluster.uri('primary'), 'SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()');
  assert.equal(row?.ssl, true);
});
