// Restore rehearsals and backup metrics on real PostgreSQL 15, pgBackRest 2.45 and the real CLI: a cluster with
// spec.backup.verify restores its latest backup into a throwaway instance on schedule; a good backup verifies
// (LastRestoreVerified=True, the backup's table fingerprint matching row for row); the same backup with a file
// deleted from the repository is reported as LastRestoreVerified=False with the reason. The operator's and the
// primary agent's /metrics are scraped for the backup age, duration and size, the rehearsal result and archiving.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, writeFileSync, readFileSync, statSync, unlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LocalCluster, stateDir } from '../helpers/cli.js';
import { postgresRepository, removeRepository } from '../helpers/repository.js';
import { eventually, query, uriFor } from '../helpers/sql.js';
import type { PostgresCluster } from '../../crds/postgrescluster.js';
import type { BackupJob } from '../../crds/backupjob.js';
import { connectRedis } from '../../adapters/redis/connection.js';

const state = stateDir('pgop-verify-');
const repo = postgresRepository('pgop-verify-repo-');
const cluster = new LocalCluster(state, 'rehearsed');
after(async () => { await cluster.down(); removeRepository(repo); });

const manifest = (body: string) => {
  const file = join(state, 'rehearsed.yaml');
  writeFileSync(file, `apiVersion: postgres.keiailab.io/v1alpha1\nkind: PostgresCluster\nmetadata:\n  name: rehearsed\nspec:\n${body}`);
  return file;
};
const spec = (schedule: string) => `  instances: 1\n  postgresVersion: 15\n  backup:\n    repository:\n      posix:\n        path: ${repo}\n    verify:\n      schedule: "${schedule}"\n      keep: 3\n`;
const condition = (c: PostgresCluster) => c.status?.conditions?.find((k) => k.type === 'LastRestoreVerified');
type Rehearsal = { verified: boolean; reason: string; message: string; backup?: string; startedAt: string; tablesCompared?: number };
const lastRehearsal = (c: PostgresCluster) => (c.status as { restoreVerification?: { last?: Rehearsal } } | undefined)?.restoreVerification?.last;
const superuser = async () => {
  const c = await cluster.get();
  return uriFor('postgres', cluster.secret('superuser'), cluster.instanceSpec(c.status?.currentPrimary ?? '').port, 'app', cluster.caFile());
};
async function operatorMetrics(): Promise<string> {
  const { redisUrl } = JSON.parse(readFileSync(join(state, 'platform.json'), 'utf8')) as { redisUrl: string };
  const r = connectRedis(redisUrl);
  try {
    const { metricsPort } = JSON.parse((await r.get('pgop:daemon')) ?? '{}') as { metricsPort: number };
    return await fetch(`http://127.0.0.1:${metricsPort}/metrics`).then((x) => x.text());
  } finally { r.disconnect(); }
}
const metric = (text: string, name: string, labels = 'cluster="rehearsed"'): number | null => {
  const line = text.split('\n').find((l) => l.startsWith(`${name}{`) && l.includes(labels));
  return line ? Number(line.split(' ').at(-1)) : null;
};

let label = '';
let firstVerifiedAt = '';

test('a schedule croner cannot read, or one firing every second, is refused at the door naming the field', async () => {
  for (const bad of ['every day', '* * * * * *']) {
    const r = await cluster.run(['local', 'apply', '-f', manifest(spec(bad))]);
    assert.notEqual(r.code, 0);
    assert.match(r.stderr + r.stdout, /spec\.backup\.verify\.schedule/);
  }
});

test('before any backup the rehearsal says there is nothing to restore; after one it restores and verifies it', async () => {
  await cluster.ok(['local', 'up', '-f', manifest(spec('*/15 * * * * *')), '--wait', '--timeout', '240']);
  const none = await cluster.waitFor('a first rehearsal', (c) => !!lastRehearsal(c), 120_000);
  assert.equal(condition(none)?.status, 'False');
  assert.equal(condition(none)?.reason, 'NoBackup');

  const uri = await superuser();
  await query(uri, 'CREATE TABLE orders (id int PRIMARY KEY, note text)');
  await query(uri, "INSERT INTO orders SELECT g, 'n' || g FROM generate_series(1, 1234) g");
  await query(uri, 'CREATE SCHEMA audit');
  await query(uri, 'CREATE TABLE audit.log (id int)');
  await query(uri, 'INSERT INTO audit.log SELECT generate_series(1, 7)');
  const out = await cluster.ok(['local', 'backup', 'rehearsed', '--wait', '--timeout', '300']);
  label = /backup (\d{8}-\d{6}F) /.exec(out)?.[1] ?? '';
  assert.ok(label, out);
  // The job is Succeeded once the backup is saved; its fingerprint follows.
  const job = await eventually(async () => (JSON.parse(await cluster.ok(['local', 'get', 'backupjob', '-o', 'json'])) as { items: BackupJob[] }).items[0],
    (j) => !!j?.status?.fingerprint, 60_000);
  const fp = job?.status?.fingerprint;
  assert.ok(fp, 'the backup recorded a table fingerprint');
  assert.match(fp.lsn, /^[0-9A-F]+\/[0-9A-F]+$/);
  const rows = Object.fromEntries(fp.tables.map((t) => [`${t.database}.${t.schema}.${t.table}`, t.rows]));
  assert.equal(rows['app.public.orders'], 1234);
  assert.equal(rows['app.audit.log'], 7);
  // Rows written after the backup are not in it: the rehearsal replays to the fingerprint, not to the end of the archive.
  await query(uri, 'INSERT INTO orders VALUES (5000, $1)', ['after the backup']);

  const good = await cluster.waitFor(`a rehearsal of ${label} verified`, (c) => lastRehearsal(c)?.backup === label && lastRehearsal(c)?.verified === true, 180_000);
  const r = lastRehearsal(good);
  assert.equal(condition(good)?.status, 'True');
  assert.equal(condition(good)?.reason, 'RestoreVerified');
  assert.equal(r?.tablesCompared, fp.tables.length);
  assert.match(r?.message ?? '', new RegExp(`${fp.tables.length} table row counts match the fingerprint at ${fp.lsn.replace('/', '\\/')}`));
  assert.match(r?.message ?? '', /amcheck clean/);
  assert.match(r?.message ?? '', /pg_checksums found no failure/);
  firstVerifiedAt = r?.startedAt ?? '';
  // Cleaned up: finished rehearsals leave no throwaway data directory (at most the next one is under way).
  assert.ok(readdirSync(tmpdir()).filter((d) => d.startsWith('pgop-rehearsal-')).length <= 1);
});

test('the operator and the primary agent export backup, rehearsal and archiving metrics', async () => {
  const text = await operatorMetrics();
  const at = metric(text, 'pgop_backup_last_success_timestamp_seconds');
  assert.ok(at !== null && at > Date.now() / 1000 - 3600 && at <= Date.now() / 1000 + 5, `last success ${at}`);
  assert.ok((metric(text, 'pgop_backup_last_size_bytes') ?? 0) > 1_000_000);
  assert.ok((metric(text, 'pgop_backup_last_duration_seconds') ?? -1) >= 0);
  assert.equal(metric(text, 'pgop_restore_verification_success'), 1);
  assert.ok((metric(text, 'pgop_restore_verification_last_run_timestamp_seconds') ?? 0) > 0);
  const c = await cluster.get();
  const agent = await fetch(`http://127.0.0.1:${cluster.instanceSpec(c.status?.currentPrimary ?? '').httpPort}/metrics`).then((x) => x.text());
  assert.match(agent, /^pgop_instance_archive_pending_segments\{[^}]*\} \d+$/m);
  assert.match(agent, /^pgop_instance_archive_failing\{[^}]*\} 0$/m);
  assert.match(agent, /^pgop_instance_archive_last_archived_timestamp_seconds\{[^}]*\} \d/m);
});

test('a backup with a file deleted from the repository fails its rehearsal: LastRestoreVerified=False with the reason', async () => {
  // A relation file of the app database inside the backup: pgBackRest's restore needs every one of them.
  const base = join(repo, 'backup', 'default_rehearsed', label, 'pg_data', 'base');
  const files = readdirSync(base).flatMap((db) => readdirSync(join(base, db)).map((f) => join(base, db, f)))
    .filter((f) => /\/\d+\/\d+(\.gz)?$/.test(f)).sort((a, b) => statSync(b).size - statSync(a).size);
  assert.ok(files[0], 'the backup holds relation files');
  unlinkSync(files[0]);
  const bad = await cluster.waitFor('a failed rehearsal', (c) => {
    const r = lastRehearsal(c);
    return !!r && r.backup === label && !r.verified && r.startedAt > firstVerifiedAt;
  }, 180_000);
  assert.equal(condition(bad)?.status, 'False');
  assert.equal(condition(bad)?.reason, 'RestoreFailed');
  assert.match(condition(bad)?.message ?? '', new RegExp(`backup ${label}: pgbackrest restore of ${label} failed: .*(missing|unable to open)`));
  assert.equal(metric(await operatorMetrics(), 'pgop_restore_verification_success'), 0);
});

test('turning verify off removes the rehearsal record and its condition', async () => {
  await cluster.ok(['local', 'apply', '-f', manifest(`  instances: 1\n  postgresVersion: 15\n  backup:\n    repository:\n      posix:\n        path: ${repo}\n`)]);
  const off = await cluster.waitFor('no rehearsal record', (c) => !condition(c) && !lastRehearsal(c), 60_000);
  assert.equal((off.status as { restoreVerification?: unknown }).restoreVerification, undefined);
});
