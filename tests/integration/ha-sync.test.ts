// Synchronous replication with dataDurability: required keeps every acknowledged commit through failovers.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { LocalCluster, stateDir, sample } from '../helpers/cli.js';
import { query, eventually } from '../helpers/sql.js';
import { RowWriter, missingAcked } from '../helpers/writer.js';
import type { PostgresCluster } from '../../crds/postgrescluster.js';

const cluster = new LocalCluster(stateDir('pgop-sync-'), 'durable');
after(() => cluster.down());

const allReady = (c: PostgresCluster) => c.status?.phase === 'Ready' && (c.status.instances ?? []).length === 3 && (c.status.instances ?? []).every((i) => i.ready);

test('synchronous_standby_names is rendered from spec.postgresql.synchronous', async () => {
  await cluster.ok(['local', 'up', '-f', sample('postgrescluster-sync.yaml'), '--wait', '--timeout', '240']);
  const [row] = await query<{ names: string }>(await cluster.uri('primary', 'postgres'), "SELECT current_setting('synchronous_standby_names') AS names");
  assert.equal(row?.names, 'ANY 1 ("durable-2", "durable-3")');
  const sync = await query<{ n: string }>(await cluster.uri('primary', 'postgres'), "SELECT count(*) AS n FROM pg_stat_replication WHERE sync_state = 'quorum'");
  assert.equal(sync[0]?.n, '2');
});

test('no acknowledged row is lost across 5 consecutive failovers with dataDurability: required', async () => {
  const writer = new RowWriter(() => cluster.uri('primary'));
  await writer.prepare();
  writer.start();
  try {
    for (let round = 1; round <= 5; round++) {
      const before = await cluster.waitFor(`Ready before failover ${round}`, allReady, 120_000);
      const primary = before.status?.currentPrimary ?? '';
      const acksBefore = writer.acked.length;
      // Writes flow before each failover (the writer's connections cost a CLI call each: seconds on a loaded machine).
      await eventually(async () => writer.acked.length, (n) => n > acksBefore, 60_000);
      await cluster.ok(['local', 'kill', primary]);
      const after = await cluster.waitFor(`failover ${round}`, (c) => (c.status?.failovers ?? []).length === round && c.status?.currentPrimary !== primary, 60_000);
      assert.equal(after.status?.failovers?.at(-1)?.outcome, 'promoted');
      const [names] = await query<{ names: string }>(await cluster.uri('primary', 'postgres'), "SELECT current_setting('synchronous_standby_names') AS names");
      assert.match(names?.names ?? '', /^ANY 1 \(/, 'the new primary keeps required synchronous replication');
    }
    await cluster.waitFor('Ready after the last failover', allReady, 120_000);
  } finally {
    await writer.stop();
  }
  const report = writer.report();
  assert.ok(report.acked.length > 500, `only ${report.acked.length} rows were acknowledged`);
  assert.deepEqual(await missingAcked(await cluster.uri('primary'), report.acked), []);
});
