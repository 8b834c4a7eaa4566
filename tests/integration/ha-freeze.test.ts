// A primary that is alive but frozen (a paused VM, a stalled node): every process of the instance is stopped, so
// nothing can prove it dead. Short freezes must not fail over; long ones fail over without waiting on the frozen
// instance (the platform fences it), lose no acknowledged row with dataDurability: required, and the old primary
// never acknowledges a write on its old timeline, then rejoins as a replica. A freeze in the middle of a
// switchover ends in one primary and streaming replicas.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import pg from 'pg';
import { LocalCluster, stateDir, sample, pgopBin } from '../helpers/cli.js';
import { eventually, query } from '../helpers/sql.js';
import { RowWriter, missingAcked, acksOnOldPrimaryAfterPromotion } from '../helpers/writer.js';
import type { PostgresCluster } from '../../crds/postgrescluster.js';

const cluster = new LocalCluster(stateDir('pgop-freeze-'), 'durable');
after(() => cluster.down());

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const failovers = (c: PostgresCluster) => c.status?.failovers ?? [];
const primaryOf = (c: PostgresCluster) => c.status?.currentPrimary ?? '';
const allReady = (c: PostgresCluster) => c.status?.phase === 'Ready' && (c.status.instances ?? []).length === 3 && (c.status.instances ?? []).every((i) => i.ready);
const superuser = (instance: string) => `postgresql://postgres:${encodeURIComponent(cluster.secret('superuser'))}@127.0.0.1:${cluster.instanceSpec(instance).port}/postgres?${cluster.tlsQuery()}`;

/** A client connected straight to one instance (not through the forwarder), opened before anything happens. */
async function directClient(instance: string): Promise<pg.Client> {
  const c = new pg.Client({ connectionString: superuser(instance), connectionTimeoutMillis: 5000 });
  c.on('error', () => undefined);
  await c.connect();
  return c;
}

/** The query's outcome within `ms`: 'answered', 'failed' (error), or 'silent' (no answer in time). */
async function outcome(p: Promise<unknown>, ms: number): Promise<'answered' | 'failed' | 'silent'> {
  return Promise.race([p.then(() => 'answered' as const, () => 'failed' as const), sleep(ms).then(() => 'silent' as const)]);
}

/**
 * Freezes every process of an instance for `seconds` (`pgop local kill --signal STOP --for`, which times the thaw
 * itself); `frozen` resolves once the agent is stopped, `thawed` when the command has continued everything.
 */
function freezeFor(instance: string, seconds: number): { frozen: Promise<void>; thawed: Promise<string> } {
  // Re-read each time: an agent may be replaced meanwhile (a demoted primary's agent restarts).
  const agentState = () => {
    try {
      const pid = Number(readFileSync(join(cluster.state, 'instances', cluster.namespace, instance, 'agent.pid'), 'utf8').split(' ')[0]);
      return readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]?.[0];
    } catch { return undefined; }
  };
  let done = false;
  const thawed = cluster.ok(['local', 'kill', instance, '--signal', 'STOP', '--for', String(seconds)]).finally(() => { done = true; });
  // Until the command has finished: on a loaded machine its own start-up can take a while.
  const frozen = (async () => {
    while (!done) {
      if (agentState() === 'T') return;
      await sleep(20);
    }
    throw new Error(`${instance}: the agent was never seen stopped`);
  })();
  frozen.catch(() => undefined);
  return { frozen, thawed };
}

/** One primary, two streaming replicas on its timeline, the lease with the recorded primary. */
async function assertClean(c: PostgresCluster): Promise<void> {
  const instances = c.status?.instances ?? [];
  const primaries = instances.filter((i) => i.role === 'primary');
  assert.deepEqual(primaries.map((i) => i.name), [primaryOf(c)], 'exactly the recorded primary is primary');
  assert.ok(instances.filter((i) => i.role === 'replica').length === 2, 'the other two are replicas');
  assert.ok(instances.every((i) => i.timeline === c.status?.timeline), 'everyone on the cluster timeline');
  assert.equal(await cluster.leaseHolder(), primaryOf(c));
}

test('a 3-instance cluster with required synchronous replication comes up', async () => {
  await cluster.ok(['local', 'up', '-f', sample('postgrescluster-sync.yaml'), '--wait', '--timeout', '240']);
  assert.equal(await cluster.leaseHolder(), 'durable-1');
});

test('a 2 s full freeze of the primary stops every one of its processes and causes no failover', async () => {
  const before = await cluster.waitFor('Ready', allReady, 60_000);
  const primary = primaryOf(before);
  const direct = await directClient(primary);
  try {
    assert.equal(await outcome(direct.query('SELECT 1'), 5000), 'answered');
    const freeze = freezeFor(primary, 2);
    await freeze.frozen;
    // The backend serving this connection runs in its own session: frozen too, it must not answer.
    const pending = direct.query('SELECT 1').then(() => 'answered' as const, () => 'failed' as const);
    assert.equal(await Promise.race([pending, sleep(1000).then(() => 'silent' as const)]), 'silent', 'a backend of the frozen instance answered');
    assert.match(await freeze.thawed, /froze .* for 2 s, then continued/);
    assert.equal(await pending, 'answered', 'the thawed backend answers the query it held');
  } finally {
    await direct.end().catch(() => undefined);
  }
  // Longer than a lease: a failover, if one were coming, would have started by now.
  await sleep(7000);
  const now = await cluster.waitFor('Ready again', allReady, 30_000);
  assert.equal(primaryOf(now), primary);
  assert.equal(failovers(now).length, failovers(before).length);
  assert.equal(await cluster.leaseHolder(), primary);
});

test('a 10 s full freeze under writes fails over with platform fencing, loses no acknowledged row, and the old primary never acknowledges on its old timeline', async () => {
  const before = await cluster.waitFor('Ready', allReady, 60_000);
  const primary = primaryOf(before);
  const oldPort = cluster.instanceSpec(primary).port;
  const writer = new RowWriter(() => cluster.uri('primary'), 'freeze_writes');
  await writer.prepare();
  writer.start();
  after(() => writer.stop());
  const direct = await directClient(primary);
  await direct.query('CREATE TABLE IF NOT EXISTS freeze_direct (id int PRIMARY KEY)');
  try {
    await eventually(async () => writer.acked.length, (n) => n > 20, 60_000);
    const freeze = freezeFor(primary, 10);
    await freeze.frozen;
    // Sent to the frozen primary directly: it sits in the socket until the thaw, and must never be acknowledged.
    const late = direct.query('INSERT INTO freeze_direct VALUES (1)').then(() => 'answered' as const, () => 'failed' as const);
    await freeze.thawed;
    const c = await cluster.waitFor('a promoted replica', (x) => failovers(x).length > failovers(before).length && failovers(x).at(-1)?.outcome === 'promoted', 60_000);
    const record = failovers(c).at(-1);
    assert.equal(record?.from, primary);
    const fencing = record?.steps.find((s) => s.step === 'fencing');
    assert.match(fencing?.detail ?? '', /platform fencing: killed \d+ processes/, `fencing step: ${JSON.stringify(fencing)}`);
    assert.notEqual(await Promise.race([late, sleep(30_000).then(() => 'silent' as const)]), 'answered', 'the old primary acknowledged a write after the failover');
    await eventually(async () => writer.ackServers.filter((p) => p !== oldPort).length, (n) => n > 20, 30_000);
    const report = await writer.stop();
    assert.deepEqual(await missingAcked(await cluster.uri('primary'), report.acked, 'freeze_writes'), []);
    assert.equal(acksOnOldPrimaryAfterPromotion(writer, oldPort), 0);
    assert.equal(await outcome(direct.query('SELECT 1'), 5000), 'failed', 'the connection to the fenced primary is gone');
    const healed = await cluster.waitFor('the old primary back as a replica on the new timeline', (x) =>
      allReady(x) && (x.status?.instances ?? []).some((i) => i.name === primary && i.role === 'replica' && i.timeline === record?.timeline), 120_000);
    await assertClean(healed);
    const [count] = await query<{ n: string }>(superuser(primaryOf(healed)), 'SELECT count(*) AS n FROM freeze_direct');
    assert.equal(count?.n, '0', 'the write sent to the frozen primary exists nowhere');
  } finally {
    await direct.end().catch(() => undefined);
  }
});

test('a full freeze of the primary during a switchover ends with one primary and streaming replicas', async () => {
  const before = await cluster.waitFor('Ready', allReady, 60_000);
  const from = primaryOf(before);
  const to = (before.status?.instances ?? []).find((i) => i.name !== from)?.name ?? '';
  const writer = new RowWriter(() => cluster.uri('primary'), 'switchover_freeze_writes');
  await writer.prepare();
  writer.start();
  after(() => writer.stop());
  await eventually(async () => writer.acked.length, (n) => n > 20, 60_000);
  // The switchover runs in the background; the primary it is about to demote freezes right after it starts.
  const switching = new Promise<number>((resolve) => {
    const p = spawn(process.execPath, [pgopBin, 'local', 'switchover', 'durable', '--to', to, '--timeout', '120', '--state-dir', cluster.state], { stdio: 'ignore' });
    p.on('exit', (code) => resolve(code ?? 1));
  });
  await sleep(300);
  const freeze = freezeFor(from, 8);
  await Promise.all([freeze.frozen, freeze.thawed]);
  await switching;
  const settled = await cluster.waitFor('Ready with every instance streaming', (x) =>
    allReady(x) && (x.status?.instances ?? []).every((i) => i.timeline === x.status?.timeline), 180_000);
  await assertClean(settled);
  const acks = writer.acked.length;
  await eventually(async () => writer.acked.length, (n) => n > acks + 20, 30_000);
  const report = await writer.stop();
  assert.deepEqual(await missingAcked(await cluster.uri('primary'), report.acked, 'switchover_freeze_writes'), []);
});
