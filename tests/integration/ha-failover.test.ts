// High availability on real processes: unplanned failover after losing the primary's pod, no failover for a
// short pause, self-fencing of a primary cut off from the lease store, and a lossless switchover under writes.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { LocalCluster, stateDir, sample } from '../helpers/cli.js';
import pg from 'pg';
import { query, eventually } from '../helpers/sql.js';
import { RowWriter, missingAcked } from '../helpers/writer.js';
import type { PostgresCluster } from '../../crds/postgrescluster.js';

const cluster = new LocalCluster(stateDir('pgop-ha-'));
after(() => cluster.down());

const failovers = (c: PostgresCluster) => c.status?.failovers ?? [];
const primaryOf = (c: PostgresCluster) => c.status?.currentPrimary ?? '';
const allReady = (c: PostgresCluster) => c.status?.phase === 'Ready' && (c.status.instances ?? []).every((i) => i.ready);
const superuser = (instance: string) => `postgresql://postgres:${encodeURIComponent(cluster.secret('superuser'))}@127.0.0.1:${cluster.instanceSpec(instance).port}/postgres?${cluster.tlsQuery()}`;

test('a 3-instance cluster with the primary lease comes up', async () => {
  await cluster.ok(['local', 'up', '-f', sample('postgrescluster-ha.yaml'), '--wait', '--timeout', '240']);
  const lease = await cluster.leaseHolder();
  assert.equal(lease, 'demo-1', 'the primary holds the lease');
});

test('losing the primary pod promotes a replica, writes resume, and the old primary rejoins on the new timeline', async () => {
  const writer = new RowWriter(() => cluster.uri('primary'));
  await writer.prepare();
  writer.start();
  after(() => writer.stop());
  // Writing already (its first connection costs a CLI call, seconds on a loaded machine): a writer that first
  // connects after the failover would see no interruption at all.
  await eventually(async () => writer.acked.length, (n) => n > 10, 60_000);
  const killedAt = Date.now();
  await cluster.ok(['local', 'kill', 'demo-1']);
  const c = await cluster.waitFor('a promoted replica', (x) => failovers(x).some((f) => f.outcome === 'promoted'), 60_000);
  const record = failovers(c)[0];
  assert.equal(record?.from, 'demo-1');
  assert.ok(record?.to && record.to !== 'demo-1');
  assert.deepEqual(record?.steps.map((s) => s.step), ['confirming', 'fencing', 'choosing', 'promoting', 'repointing', 'rerouting', 'rejoining']);
  assert.equal(primaryOf(c), record?.to);
  await eventually(async () => writer.ackTimes.filter((t) => t > killedAt + 500).length, (n) => n > 20, 30_000);
  const report = await writer.stop();
  assert.ok(report.failures.length > 0, 'writes were interrupted while the primary was gone');
  const healed = await cluster.waitFor('the old primary back as a replica on the new timeline', (x) =>
    (x.status?.instances ?? []).some((i) => i.name === 'demo-1' && i.ready && i.role === 'replica' && i.timeline === record?.timeline), 90_000);
  assert.equal(healed.status?.timeline, record?.timeline);
  const [row] = await query<{ recovery: boolean }>(superuser('demo-1'), 'SELECT pg_is_in_recovery() AS recovery');
  assert.equal(row?.recovery, true);
  assert.equal(await cluster.leaseHolder(), record?.to);
});

test('a 2 s full freeze (SIGSTOP of every process) of the primary causes no failover', async () => {
  const before = await cluster.waitFor('Ready', allReady, 60_000);
  const primary = primaryOf(before);
  assert.match(await cluster.ok(['local', 'kill', primary, '--signal', 'STOP', '--for', '2']), /froze .* for 2 s/);
  // Longer than a lease: a failover, if one were coming, would have happened by now.
  await new Promise((r) => setTimeout(r, 7000));
  const now = await cluster.waitFor('Ready again', allReady, 30_000);
  assert.equal(primaryOf(now), primary);
  assert.equal(failovers(now).length, failovers(before).length);
  assert.equal(await cluster.leaseHolder(), primary);
});

test('a primary cut off from the lease store stops accepting writes before anyone else is promoted', async () => {
  const before = await cluster.waitFor('Ready', allReady, 60_000);
  const primary = primaryOf(before);
  const direct = superuser(primary);
  await query(direct, 'CREATE TABLE IF NOT EXISTS fence_probe (at timestamptz)');
  // The probe writes on its own connection in its own loop, so a slow status read (a loaded machine) never delays
  // the moment its first refused write is seen.
  const probe = new pg.Client({ connectionString: direct, connectionTimeoutMillis: 5000 });
  probe.on('error', () => undefined);
  await probe.connect();
  await cluster.ok(['local', 'partition', primary]);
  const cutAt = Date.now();
  let fencedAt = 0;
  let promotedAt = 0;
  const probing = (async () => {
    while (!fencedAt && Date.now() - cutAt < 60_000) {
      try { await probe.query('INSERT INTO fence_probe VALUES (now())'); } catch { fencedAt = Date.now(); }
      await new Promise((r) => setTimeout(r, 50));
    }
    await probe.end().catch(() => undefined);
  })();
  while (!promotedAt && Date.now() - cutAt < 60_000) {
    const c = await cluster.get();
    if (failovers(c).length > failovers(before).length && primaryOf(c) !== primary) promotedAt = Date.parse(failovers(c).at(-1)?.steps.find((s) => s.step === 'promoting')?.at ?? '') || Date.now();
    await new Promise((r) => setTimeout(r, 100));
  }
  await probing;
  assert.ok(fencedAt > 0, 'the cut-off primary kept accepting writes');
  assert.ok(promotedAt > 0, 'no replica was promoted');
  assert.ok(fencedAt < promotedAt, `fenced at +${fencedAt - cutAt} ms, but another primary was promoted at +${promotedAt - cutAt} ms`);
  await cluster.ok(['local', 'partition', primary, '--heal']);
  await cluster.waitFor('the fenced primary back as a replica', (x) => allReady(x) && (x.status?.instances ?? []).some((i) => i.name === primary && i.role === 'replica'), 90_000);
});

test('a switchover under continuous writes loses nothing', async () => {
  const before = await cluster.waitFor('Ready', allReady, 60_000);
  const from = primaryOf(before);
  const to = (before.status?.instances ?? []).find((i) => i.name !== from)?.name ?? '';
  const writer = new RowWriter(() => cluster.uri('primary'), 'switchover_writes');
  await writer.prepare();
  writer.start();
  after(() => writer.stop());
  await new Promise((r) => setTimeout(r, 1000));
  const out = await cluster.ok(['local', 'switchover', 'demo', '--to', to]);
  assert.match(out, new RegExp(`done: ${from} → ${to} on timeline \\d+`));
  await eventually(async () => writer.acked.length, (n) => n > 0, 5000);
  const startAcks = writer.acked.length;
  await eventually(async () => writer.acked.length, (n) => n > startAcks + 50, 30_000);
  const report = await writer.stop();
  assert.equal(primaryOf(await cluster.get()), to);
  assert.deepEqual(await missingAcked(await cluster.uri('primary'), report.acked, 'switchover_writes'), []);
  await cluster.waitFor('old primary streaming from the new one', (x) => allReady(x) && (x.status?.instances ?? []).some((i) => i.name === from && i.role === 'replica'), 60_000);
});
