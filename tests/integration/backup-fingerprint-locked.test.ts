// A backup is Succeeded once pgBackRest has saved it, before its table fingerprint is recorded; a fingerprint that
// cannot be taken (a long transaction keeps a table locked against the SHARE lock it needs) leaves the backup
// Succeeded with the reason in status.fingerprintError, never Failed. Real PostgreSQL 15 and pgBackRest 2.45.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import pg from 'pg';
import { LocalCluster, stateDir } from '../helpers/cli.js';
import { postgresRepository, removeRepository } from '../helpers/repository.js';
import { eventually, query, uriFor } from '../helpers/sql.js';
import type { BackupJob } from '../../crds/backupjob.js';

const state = stateDir('pgop-fplock-');
const repo = postgresRepository('pgop-fplock-repo-');
const cluster = new LocalCluster(state, 'fplock');
after(async () => { await cluster.down(); removeRepository(repo); });

const job = async (label: string) => (JSON.parse(await cluster.ok(['local', 'get', 'backupjob', '-o', 'json'])) as { items: BackupJob[] }).items
  .find((j) => j.status?.backupId === label);
const backup = async () => {
  const out = await cluster.ok(['local', 'backup', 'fplock', '--wait', '--timeout', '300'], 320_000);
  const label = /backup (\d{8}-\d{6}F) /.exec(out)?.[1] ?? '';
  assert.ok(label, out);
  return label;
};

test('a table locked by a long transaction: the backup is Succeeded at once, and its missing fingerprint says why', async () => {
  const file = join(state, 'fplock.yaml');
  writeFileSync(file, `apiVersion: postgres.keiailab.io/v1alpha1\nkind: PostgresCluster\nmetadata:\n  name: fplock\nspec:\n  instances: 1\n  postgresVersion: 15\n  backup:\n    repository:\n      posix:\n        path: ${repo}\n`);
  await cluster.ok(['local', 'up', '-f', file, '--wait', '--timeout', '240']);
  const c = await cluster.get();
  const uri = uriFor('postgres', cluster.secret('superuser'), cluster.instanceSpec(c.status?.currentPrimary ?? '').port, 'app', cluster.caFile());
  await query(uri, 'CREATE TABLE ledger (id int)');
  await query(uri, 'INSERT INTO ledger SELECT generate_series(1, 10)');

  // An open write transaction: its ROW EXCLUSIVE lock conflicts with the fingerprint's SHARE lock.
  const writer = new pg.Client({ connectionString: uri });
  writer.on('error', () => undefined);
  await writer.connect();
  let label = '';
  try {
    await writer.query('BEGIN');
    await writer.query('INSERT INTO ledger VALUES (11)');
    label = await backup();
    // --wait returned on Succeeded: the fingerprint cannot have been taken while the lock is held.
    const saved = await job(label);
    assert.equal(saved?.status?.phase, 'Succeeded');
    assert.equal(saved?.status?.fingerprint, undefined);
    assert.match(saved?.status?.message ?? '', /recording the table fingerprint/);
    assert.equal(saved?.status?.conditions?.find((k) => k.type === 'Fingerprinted')?.status, 'Unknown');
    const given = await eventually(() => job(label), (j) => !!j?.status?.fingerprintError, 120_000);
    assert.equal(given?.status?.phase, 'Succeeded');
    assert.match(given?.status?.fingerprintError ?? '', /lock timeout/);
    assert.equal(given?.status?.fingerprint, undefined);
    assert.equal(given?.status?.conditions?.find((k) => k.type === 'Fingerprinted')?.reason, 'NotRecorded');
  } finally {
    await writer.query('COMMIT').catch(() => undefined);
    await writer.end().catch(() => undefined);
  }
  // The backup is in the repository like any other.
  const listed = JSON.parse(await cluster.ok(['local', 'backups', 'fplock', '-o', 'json'])) as { backups: { label: string }[] };
  assert.ok(listed.backups.some((b) => b.label === label), `${label} is in the repository`);
  // With the lock gone, the next backup gets its fingerprint (11 rows: the committed insert included).
  const next = await backup();
  const fingerprinted = await eventually(() => job(next), (j) => !!j?.status?.fingerprint, 120_000);
  assert.equal(fingerprinted?.status?.fingerprint?.tables.find((t) => t.table === 'ledger')?.rows, 11);
  assert.equal(fingerprinted?.status?.fingerprintError, undefined);
});
