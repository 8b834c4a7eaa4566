// Restore rehearsals of a BUSY cluster with several databases, on real PostgreSQL 15 and pgBackRest 2.45: rows are
// inserted without pause into two databases while backups are taken and fingerprinted, and every backup's
// rehearsal still finds the fingerprint's counts exactly (LastRestoreVerified=True), backup after backup. The
// fingerprint is exact at a named restore point (ADR 0040); counting each database in its own snapshot and replaying
// to the latest snapshot's WAL position reported a false FingerprintMismatch here.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import pg from 'pg';
import { LocalCluster, stateDir } from '../helpers/cli.js';
import { postgresRepository, removeRepository } from '../helpers/repository.js';
import { eventually, query, uriFor } from '../helpers/sql.js';
import type { PostgresCluster } from '../../crds/postgrescluster.js';
import type { BackupJob } from '../../crds/backupjob.js';

const state = stateDir('pgop-busyverify-');
const repo = postgresRepository('pgop-busyverify-repo-');
const cluster = new LocalCluster(state, 'busy');
let stop = false;
const writers: Promise<number>[] = [];
after(async () => {
  stop = true;
  await Promise.allSettled(writers);
  await cluster.down();
  removeRepository(repo);
});

type Rehearsal = { verified: boolean; reason: string; message: string; backup?: string; tablesCompared?: number };
const lastRehearsal = (c: PostgresCluster) => (c.status as { restoreVerification?: { last?: Rehearsal } } | undefined)?.restoreVerification?.last;
const condition = (c: PostgresCluster) => c.status?.conditions?.find((k) => k.type === 'LastRestoreVerified');

/** Inserts one row per transaction into `table` until the test ends; resolves with how many it wrote. */
async function writer(uri: string, table: string): Promise<number> {
  const c = new pg.Client({ connectionString: uri });
  c.on('error', () => undefined);
  await c.connect();
  let n = 0;
  try {
    while (!stop) { await c.query(`INSERT INTO ${table} (note) VALUES ($1)`, [`row ${n}`]); n++; }
  } finally { await c.end().catch(() => undefined); }
  return n;
}

test('two databases written to without pause: each backup\'s rehearsal matches its fingerprint exactly', async () => {
  const file = join(state, 'busy.yaml');
  writeFileSync(file, `apiVersion: postgres.keiailab.io/v1alpha1\nkind: PostgresCluster\nmetadata:\n  name: busy\nspec:\n  instances: 1\n  postgresVersion: 15\n  backup:\n    repository:\n      posix:\n        path: ${repo}\n    verify:\n      schedule: "*/10 * * * * *"\n      keep: 3\n`);
  await cluster.ok(['local', 'up', '-f', file, '--wait', '--timeout', '240']);
  const c = await cluster.get();
  const port = cluster.instanceSpec(c.status?.currentPrimary ?? '').port;
  const uri = (db: string) => uriFor('postgres', cluster.secret('superuser'), port, db, cluster.caFile());
  await query(uri('postgres'), 'CREATE DATABASE ledger');
  for (const db of ['app', 'ledger']) {
    await query(uri(db), 'CREATE TABLE events (id bigserial PRIMARY KEY, note text)');
    await query(uri(db), 'CREATE TABLE quiet (id int)');
    await query(uri(db), 'INSERT INTO quiet SELECT generate_series(1, 100)');
  }
  // Two writers per database: commits are always in flight while the fingerprint is taken.
  for (const db of ['app', 'ledger']) for (let i = 0; i < 2; i++) writers.push(writer(uri(db), 'events'));

  for (let round = 1; round <= 2; round++) {
    const out = await cluster.ok(['local', 'backup', 'busy', '--type', round === 2 ? 'incr' : 'full', '--wait', '--timeout', '300']);
    const label = /backup (\d{8}-\d{6}[FDI](?:_\d{8}-\d{6}[FDI])?) /.exec(out)?.[1] ?? '';
    assert.ok(label, out);
    // The job is Succeeded once the backup is saved; its fingerprint follows.
    const ofLabel = async () => (JSON.parse(await cluster.ok(['local', 'get', 'backupjob', '-o', 'json'])) as { items: BackupJob[] }).items.find((j) => j.status?.backupId === label);
    const fp = (await eventually(ofLabel, (j) => !!j?.status?.fingerprint || !!j?.status?.fingerprintError, 120_000))?.status?.fingerprint;
    assert.ok(fp?.restorePoint, 'the fingerprint names the restore point it is exact at');
    const rows = Object.fromEntries(fp.tables.map((t) => [`${t.database}.${t.schema}.${t.table}`, t.rows]));
    assert.equal(rows['app.public.quiet'], 100);
    assert.equal(rows['ledger.public.quiet'], 100);
    assert.ok((rows['app.public.events'] ?? 0) > 0 && (rows['ledger.public.events'] ?? 0) > 0, JSON.stringify(rows));
    // The writers went on past the fingerprint: the primary has more rows than were counted.
    const now = Number((await query<{ n: string }>(uri('ledger'), 'SELECT count(*) AS n FROM events'))[0]?.n);
    assert.ok(now > (rows['ledger.public.events'] ?? 0), `writes continued (${now} now)`);

    const done = await cluster.waitFor(`a rehearsal of ${label}`, (x) => lastRehearsal(x)?.backup === label, 240_000);
    const r = lastRehearsal(done);
    assert.equal(r?.verified, true, `round ${round}: ${r?.reason}: ${r?.message}`);
    assert.equal(condition(done)?.status, 'True');
    assert.equal(r?.tablesCompared, fp.tables.length);
    assert.match(r?.message ?? '', new RegExp(`${fp.tables.length} table row counts match the fingerprint`));
  }
  stop = true;
  const written = await Promise.all(writers);
  assert.ok(written.every((n) => n > 0), `every writer wrote (${written.join(', ')})`);
});
