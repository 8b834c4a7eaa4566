// The foundation end to end on real PostgreSQL 15 and Redis: a 3-instance cluster from a manifest, data through
// the read-write endpoint on both replicas, scale 3→2→3, a replica's postgres SIGKILLed and restarted by its
// agent, and nothing left behind by `down --purge`.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync, existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { LocalCluster, stateDir, sample, processesMentioning } from '../helpers/cli.js';
import { query, eventually, uriFor } from '../helpers/sql.js';

const state = stateDir();
const cluster = new LocalCluster(state);
after(() => cluster.down());

const manifest = (instances: number) => {
  const file = join(state, `demo-${instances}.yaml`);
  writeFileSync(file, readFileSync(sample('postgrescluster-ha.yaml'), 'utf8').replace('instances: 3', `instances: ${instances}`));
  return file;
};
const secret = (name: string) => readFileSync(join(state, 'clusters', 'default', 'demo', 'secrets', `${name}.password`), 'utf8').trim();
const direct = (instance: string, db = 'app') => uriFor('app', secret('app'), cluster.instanceSpec(instance).port, db);
const superDirect = (instance: string) => uriFor('postgres', secret('superuser'), cluster.instanceSpec(instance).port, 'postgres');

test('a 3-instance cluster comes up Ready from the sample manifest', async () => {
  const out = await cluster.ok(['local', 'up', '-f', sample('postgrescluster-ha.yaml'), '--wait', '--timeout', '240']);
  assert.match(out, /postgrescluster\/demo created/);
  assert.match(out, /demo\s+3\s+3\s+Ready\s+demo-1/);
  assert.match(out, /read-write\s+postgresql:\/\/app:[^@]+@127\.0\.0\.1:\d+\/app/);
  const c = await cluster.get();
  assert.equal(c.status?.phase, 'Ready');
  assert.equal(c.status?.currentPrimary, 'demo-1');
  assert.deepEqual(c.status?.instances?.map((i) => [i.name, i.role, i.ready]), [['demo-1', 'primary', true], ['demo-2', 'replica', true], ['demo-3', 'replica', true]]);
  assert.equal(c.status?.timeline, 1);
  assert.deepEqual(c.status?.conditions?.map((x) => [x.type, x.status]), [['Ready', 'True'], ['Progressing', 'False'], ['Degraded', 'False'], ['SafeFailoverCandidate', 'True']]);
  const envelope = c.status?.machine as { machineId: string; version: number; snapshot: { value: unknown } };
  assert.equal(envelope.machineId, 'cluster');
  assert.equal(envelope.snapshot.value, 'ready');
  const table = await cluster.ok(['local', 'get', 'postgresclusters']);
  assert.match(table, /^NAME\s+INSTANCES\s+READY\s+PHASE\s+PRIMARY\s+READ-WRITE\s+READ-ONLY\s+AGE/);
});

test('the primary is initialised securely: checksums on, scram only, passwords outside the data directory', async () => {
  const [row] = await query<{ checksums: string; enc: string }>(superDirect('demo-1'), "SELECT current_setting('data_checksums') AS checksums, current_setting('password_encryption') AS enc");
  assert.deepEqual(row, { checksums: 'on', enc: 'scram-sha-256' });
  const hba = await query<{ auth_method: string }>(superDirect('demo-1'), 'SELECT DISTINCT auth_method FROM pg_hba_file_rules');
  assert.ok(hba.every((r) => ['scram-sha-256', 'reject'].includes(r.auth_method)), JSON.stringify(hba));
  const dataDir = cluster.instanceSpec('demo-1').dataDir;
  const conf = readFileSync(join(dataDir, 'pgop.conf'), 'utf8') + readFileSync(join(dataDir, 'postgresql.auto.conf'), 'utf8');
  for (const name of ['superuser', 'replication', 'app']) assert.ok(!conf.includes(secret(name)), `${name} password leaked into the data directory`);
});

test('10,000 rows written through the read-write endpoint are readable on both replicas', async () => {
  const rw = await cluster.uri('primary');
  await query(rw, 'CREATE TABLE items (id int PRIMARY KEY, note text)');
  await query(rw, "INSERT INTO items SELECT g, 'row ' || g FROM generate_series(1, 10000) g");
  for (const replica of ['demo-2', 'demo-3']) {
    const rows = await eventually(() => query<{ n: string; standby: boolean }>(direct(replica), 'SELECT count(*) AS n, pg_is_in_recovery() AS standby FROM items'), (r) => r[0]?.n === '10000');
    assert.equal(rows[0]?.standby, true);
  }
  // The read-only endpoint reaches replicas only, both of them in turn.
  const ports = new Set<number>();
  for (let i = 0; i < 4; i++) {
    const [r] = await query<{ port: number; standby: boolean }>(await cluster.uri('replica'), 'SELECT inet_server_port() AS port, pg_is_in_recovery() AS standby');
    assert.equal(r?.standby, true);
    ports.add(Number(r?.port));
  }
  assert.deepEqual([...ports].sort(), [cluster.instanceSpec('demo-2').port, cluster.instanceSpec('demo-3').port].sort());
  const slots = await query<{ slot_name: string; active: boolean }>(superDirect('demo-1'), 'SELECT slot_name, active FROM pg_replication_slots ORDER BY 1');
  assert.deepEqual(slots, [{ slot_name: 'pgop_demo_2', active: true }, { slot_name: 'pgop_demo_3', active: true }]);
});

test('scale 3→2 removes the newest replica and its slot; 2→3 clones a new streaming replica', async () => {
  const removedHome = cluster.instanceSpec('demo-3').dataDir;
  await cluster.ok(['local', 'apply', '-f', manifest(2)]);
  const two = await cluster.waitFor('2 instances', (c) => c.status?.instances?.length === 2 && c.status.phase === 'Ready' && c.status.observedGeneration === 2);
  assert.deepEqual(two.status?.instances?.map((i) => i.name), ['demo-1', 'demo-2']);
  const slots = await query<{ slot_name: string }>(superDirect('demo-1'), 'SELECT slot_name FROM pg_replication_slots ORDER BY 1');
  assert.deepEqual(slots.map((s) => s.slot_name), ['pgop_demo_2']);
  assert.ok(!existsSync(removedHome), 'the removed replica keeps no data directory');

  await cluster.ok(['local', 'up', '-f', manifest(3), '--wait', '--timeout', '240']);
  const three = await cluster.get();
  assert.deepEqual(three.status?.instances?.map((i) => [i.name, i.role, i.ready]), [['demo-1', 'primary', true], ['demo-2', 'replica', true], ['demo-4', 'replica', true]]);
  const [row] = await query<{ n: string }>(direct('demo-4'), 'SELECT count(*) AS n FROM items');
  assert.equal(row?.n, '10000');
});

test('a SIGKILLed postgres on a replica is restarted by its agent and resumes streaming', async () => {
  const before = await cluster.agentStatus<{ postgresPid: number; restarts: number }>('demo-2');
  const out = await cluster.ok(['local', 'kill', 'demo-2', '--postgres-only']);
  assert.match(out, new RegExp(`SIGKILL to postgres of demo-2 \\(pid ${before.postgresPid}\\)`));
  const after = await eventually(
    () => cluster.agentStatus<{ postgresPid: number; restarts: number; streaming: boolean }>('demo-2'),
    (s) => s.streaming && s.postgresPid !== before.postgresPid, 60_000);
  assert.equal(after.restarts, before.restarts + 1);
  await query(await cluster.uri('primary'), "INSERT INTO items VALUES (10001, 'after the crash')");
  await eventually(() => query<{ n: string }>(direct('demo-2'), 'SELECT count(*) AS n FROM items'), (r) => r[0]?.n === '10001');
  await cluster.waitFor('Ready again', (c) => c.status?.phase === 'Ready');
  const metrics = await fetch(`http://127.0.0.1:${cluster.instanceSpec('demo-2').httpPort}/metrics`).then((r) => r.text());
  assert.match(metrics, /pgop_instance_postgres_restarts\{[^}]*instance="demo-2"[^}]*\} 1/);
  assert.match(metrics, /pgop_instance_role\{role="replica"[^}]*\} 1/);
});

test('a lost instance (agent and postgres killed, like a pod) is recreated on its own volume', async () => {
  await cluster.ok(['local', 'kill', 'demo-4']);
  await cluster.waitFor('Degraded', (c) => c.status?.phase === 'Degraded', 30_000);
  await cluster.waitFor('Ready again', (c) => c.status?.phase === 'Ready', 90_000);
  const [row] = await query<{ n: string }>(direct('demo-4'), 'SELECT count(*) AS n FROM items');
  assert.equal(row?.n, '10001');
});

test('down --purge stops every process and removes the state directory', async () => {
  assert.ok(processesMentioning(state).length > 0, 'the platform should be running before down');
  const out = await cluster.ok(['local', 'down', '--purge']);
  assert.match(out, /stopping 3 instances/);
  assert.deepEqual(processesMentioning(state), []);
  assert.ok(!existsSync(state));
});
