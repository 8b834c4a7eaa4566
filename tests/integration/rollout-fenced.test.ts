// A rolling update with a fenced replica on real PostgreSQL 15 processes (issue #11, ADR 0026 + 0028 + 0041).
//
// What is asserted is what an experienced CloudNativePG user expects of fencing: a fenced instance is one they froze on
// purpose (to inspect its data, or to keep a misbehaving one down), so the operator neither starts nor restarts it and
// does not wait for it either. A parameter change that needs a restart still reaches the rest of the cluster (it may
// be urgent: memory, connections, a security setting), the usual way: replicas first, then a switchover so the old
// primary is restarted last, as a replica. The status says which instance is left behind and how to update it
// (RolloutBlocked, reason InstanceFenced, naming it and the unfence command), and once the fence is lifted it starts
// on the new configuration, streams again and the condition goes.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import pg from 'pg';
import { LocalCluster, stateDir } from '../helpers/cli.js';
import { query, eventually } from '../helpers/sql.js';
import type { PostgresCluster } from '../../crds/postgrescluster.js';

const cluster = new LocalCluster(stateDir('pgop-rollfence-'));
after(() => cluster.down());

type Condition = { type: string; status: string; reason: string; message: string };
const condition = (c: PostgresCluster, type: string) => (c.status?.conditions as Condition[] | undefined)?.find((x) => x.type === type);
const superuser = (instance: string) => `postgresql://postgres:${encodeURIComponent(cluster.secret('superuser'))}@127.0.0.1:${cluster.instanceSpec(instance).port}/postgres?${cluster.tlsQuery()}`;
const one = async <T extends pg.QueryResultRow>(instance: string, sql: string) => (await query<T>(superuser(instance), sql))[0];
const show = async (instance: string) => (await one<{ v: string }>(instance, "SELECT current_setting('max_connections') AS v"))?.v;
const startedAt = async (instance: string) => Number((await one<{ t: string }>(instance, 'SELECT extract(epoch FROM pg_postmaster_start_time()) AS t'))?.t);
const rows = async (instance: string) => Number((await one<{ n: string }>(instance, 'SELECT count(*) AS n FROM rollfence'))?.n);
const allReady = (c: PostgresCluster) => c.status?.phase === 'Ready' && (c.status.instances ?? []).length === 3 && (c.status.instances ?? []).every((i) => i.ready)
  && (c.status.pendingRestart ?? []).length === 0;

/** Whether anything accepts a PostgreSQL connection on the instance's port (a fenced instance must not). */
async function accepting(instance: string): Promise<boolean> {
  const c = new pg.Client({ connectionString: superuser(instance), connectionTimeoutMillis: 4000 });
  c.on('error', () => undefined);
  try { await c.connect(); return true; } catch { return false; } finally { await c.end().catch(() => undefined); }
}

/** `local apply` sets the manifest's annotations: a fenced cluster's manifest must keep the fence annotation. */
function manifest(maxConnections: string, fenced?: string): string {
  const file = join(cluster.state, `demo-${maxConnections}.yaml`);
  writeFileSync(file, ['apiVersion: postgres.keiailab.io/v1alpha1', 'kind: PostgresCluster', 'metadata:', '  name: demo',
    ...(fenced ? ['  annotations:', `    postgres.keiailab.io/fenced-instances: '["${fenced}"]'`] : []), 'spec:',
    '  instances: 3', '  postgresVersion: 15', '  postgresql:', '    parameters:', `      max_connections: "${maxConnections}"`, ''].join('\n'));
  return file;
}

/** Decided once the cluster is up: the primary, the replica that rolls, the replica that is fenced. */
let primary = '';
let rolling = '';
let fenced = '';
let before: Record<string, number> = {};

test('a 3-instance cluster comes up, every agent saying which configuration generation it loaded', async () => {
  await cluster.ok(['local', 'up', '-f', manifest('100'), '--wait', '--timeout', '240'], 300_000);
  const c = await cluster.waitFor('Ready', allReady, 120_000);
  primary = c.status?.currentPrimary ?? '';
  const replicas = (c.status?.instances ?? []).map((i) => i.name).filter((n) => n !== primary).sort();
  assert.equal(replicas.length, 2);
  [rolling, fenced] = replicas as [string, string];
  // Before any reconfiguration too: an agent reporting no generation looked up to date to the rollout, which then
  // switched over to a replica that had not reloaded yet and stalled (SHOW stayed 100).
  for (const n of [primary, ...replicas]) {
    const s = await cluster.agentStatus<{ configGeneration?: number | null }>(n);
    assert.equal(typeof s.configGeneration, 'number', `${n} reports its configuration generation`);
  }
  await query(superuser(primary), 'CREATE TABLE rollfence (id int PRIMARY KEY, note text)');
  await query(superuser(primary), "INSERT INTO rollfence SELECT g, 'before the fence' FROM generate_series(1, 100) g");
  await eventually(() => rows(fenced), (n) => n === 100, 30_000);
});

test('with a replica fenced, a restart-needing change rolls the others around it, the primary last', async () => {
  assert.match(await cluster.ok(['local', 'fence', 'demo', fenced, '--wait']), new RegExp(`fenced instances of demo: ${fenced}`));
  await cluster.waitFor(`${fenced} fenced`, (x) => condition(x, 'Fenced')?.status === 'True', 60_000);
  assert.equal(await accepting(fenced), false, 'a fenced instance is stopped');
  before = { [primary]: await startedAt(primary), [rolling]: await startedAt(rolling) };

  await cluster.ok(['local', 'apply', '-f', manifest('120', fenced)]);
  const blocked = await cluster.waitFor('RolloutBlocked naming the fenced replica', (x) => condition(x, 'RolloutBlocked')?.status === 'True', 120_000);
  assert.equal(condition(blocked, 'RolloutBlocked')?.reason, 'InstanceFenced');
  assert.match(condition(blocked, 'RolloutBlocked')?.message ?? '', new RegExp(`instance ${fenced} is fenced .*the other instances roll.*pgop local unfence demo ${fenced}`));

  for (const n of [primary, rolling]) await eventually(() => show(n), (v) => v === '120', 240_000);
  const rolled = await cluster.waitFor('the unfenced instances rolled and serving', (x) => (x.status?.instances ?? [])
    .filter((i) => i.name !== fenced).every((i) => i.ready && !i.pendingRestart), 120_000);
  // The old primary went last: the replica restarted first, then a switchover made it primary and the old primary
  // restarted as a replica.
  assert.equal(rolled.status?.currentPrimary, rolling, 'the updated replica was switched over to');
  const later = { [primary]: await startedAt(primary), [rolling]: await startedAt(rolling) };
  assert.ok(later[rolling]! > before[rolling]!, `${rolling} restarted`);
  assert.ok(later[primary]! > before[primary]!, `${primary} restarted`);
  assert.ok(later[primary]! > later[rolling]!, `the old primary ${primary} restarted after the replica ${rolling}`);
  assert.equal(await rows(rolling), 100, 'rows intact on the new primary');
  assert.equal(await rows(primary), 100, 'rows intact on the old primary, now a replica');

  // Still fenced: not started by the rollout, still named as behind.
  assert.equal(await accepting(fenced), false, 'the rollout did not start the fenced instance');
  const now = await cluster.get();
  assert.equal(condition(now, 'Fenced')?.status, 'True');
  assert.equal(condition(now, 'RolloutBlocked')?.status, 'True', `${fenced} is still behind while fenced`);
  await query(superuser(rolling), "INSERT INTO rollfence SELECT g, 'while fenced' FROM generate_series(101, 150) g");
});

test('unfenced, the replica comes back on the new setting, streams, and the condition goes', async () => {
  await cluster.ok(['local', 'unfence', 'demo', fenced]);
  const c = await cluster.waitFor('every instance ready, nothing pending, nothing blocked', (x) => allReady(x) && !condition(x, 'RolloutBlocked'), 240_000);
  assert.equal(c.status?.phase, 'Ready');
  assert.equal(await show(fenced), '120');
  assert.equal((await one<{ s: string }>(fenced, 'SELECT status AS s FROM pg_stat_wal_receiver'))?.s, 'streaming');
  assert.equal(await eventually(() => rows(fenced), (n) => n === 150, 30_000), 150, 'it caught up with what was written while it was fenced');
});
