// Backups into a real S3 server (versitygw, TLS verified against its certificate): archiving and a full backup into
// the bucket, listed from it, restored into a new cluster with the rows checked; wrong credentials end a BackupJob
// `Failed` with the reason in bounded time (no endless retry) and show as ContinuousArchiving=False.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, mkdirSync, rmSync, writeFileSync, chmodSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LocalCluster, stateDir } from '../helpers/cli.js';
import { eventually, query, uriFor } from '../helpers/sql.js';
import type { BackupJob } from '../../crds/backupjob.js';
import type { PostgresCluster } from '../../crds/postgrescluster.js';
import { startVersitygw, type S3Server } from '../s3/versitygw.js';

const state = stateDir('pgop-s3-');
const s3dir = mkdtempSync(join(tmpdir(), 'pgop-s3gw-'));
let s3: S3Server;
const src = new LocalCluster(state, 's3src');

/** The local stand-in for Secrets: files under <state>/secrets/<namespace>/<secret>/<key>, readable by the operator only. */
function secretFile(secret: string, key: string, value: string) {
  const dir = join(state, 'secrets', 'default', secret);
  mkdirSync(dir, { recursive: true });
  for (const d of [join(state, 'secrets'), join(state, 'secrets', 'default'), dir]) chmodSync(d, 0o700);
  writeFileSync(join(dir, key), value, { mode: 0o600 });
}

before(async () => {
  s3 = await startVersitygw(s3dir);
  await s3.createBucket('pgop-backups');
  secretFile('s3-creds', 'accessKeyId', s3.accessKeyId);
  secretFile('s3-creds', 'secretAccessKey', s3.secretAccessKey);
  secretFile('s3-wrong', 'accessKeyId', s3.accessKeyId);
  secretFile('s3-wrong', 'secretAccessKey', 'not-the-secret-key');
  secretFile('s3-ca', 'ca.crt', readFileSync(s3.caFile, 'utf8'));
});
after(async () => {
  await src.down();
  s3?.stop();
  if (process.env.PGOP_TEST_KEEP_STATE !== '1') rmSync(s3dir, { recursive: true, force: true });
});

const repoYaml = (indent: string, creds = 's3-creds') => `${indent}repository:\n${indent}  s3:\n${indent}    endpoint: ${s3.endpoint}\n${indent}    bucket: pgop-backups\n${indent}    region: us-east-1\n${indent}    path: /clusters\n${indent}    uriStyle: path\n${indent}    credentialsSecret: ${creds}\n${indent}    caSecret: s3-ca\n`;
const manifest = (name: string, body: string) => {
  const file = join(state, `${name}.yaml`);
  writeFileSync(file, `apiVersion: postgres.keiailab.io/v1alpha1\nkind: PostgresCluster\nmetadata:\n  name: ${name}\nspec:\n${body}`);
  return file;
};
const superuser = (c: LocalCluster, instance: string) => uriFor('postgres', c.secret('superuser'), c.instanceSpec(instance).port, 'postgres', c.caFile());
const archiving = (x: PostgresCluster) => x.status?.conditions?.find((k) => k.type === 'ContinuousArchiving');

test('a cluster archives into S3 and a full backup lands in the bucket', async () => {
  await src.ok(['local', 'up', '-f', manifest('s3src', `  instances: 1\n  postgresVersion: 15\n  backup:\n${repoYaml('    ')}`), '--wait', '--timeout', '240']);
  const c = await src.get();
  const uri = superuser(src, c.status?.currentPrimary ?? '');
  await query(uri, 'CREATE TABLE t (id int PRIMARY KEY)');
  await query(uri, 'INSERT INTO t SELECT generate_series(1, 100)');
  const out = await src.ok(['local', 'backup', 's3src', '--wait', '--timeout', '300']);
  const label = /backup (\d{8}-\d{6}F) /.exec(out)?.[1] ?? '';
  assert.ok(label, out);
  const jobs = (JSON.parse(await src.ok(['local', 'get', 'backupjob', '-o', 'json'])) as { items: BackupJob[] }).items;
  assert.equal(jobs.find((j) => j.status?.backupId === label)?.status?.repository, 's3://pgop-backups/clusters');
  const listed = JSON.parse(await src.ok(['local', 'backups', 's3src', '-o', 'json'])) as { backups: { label: string }[] };
  assert.deepEqual(listed.backups.map((b) => b.label), [label]);
  await query(uri, 'INSERT INTO t SELECT generate_series(101, 120)');
  await query(uri, 'SELECT pg_switch_wal()');
  await src.waitFor('ContinuousArchiving=True', (x) => archiving(x)?.status === 'True', 120_000);
});

test('restore from the bucket into a new cluster holds the rows', async () => {
  const r = new LocalCluster(state, 's3restored');
  await r.ok(['local', 'apply', '-f', manifest('s3restored', `  instances: 1\n  postgresVersion: 15\n  bootstrap:\n    recovery:\n${repoYaml('      ')}      sourceCluster: { namespace: default, name: s3src }\n  backup:\n${repoYaml('    ')}`)]);
  const c = await r.waitFor('the restored cluster Ready', (x) => x.status?.phase === 'Ready', 300_000);
  const rows = await query<{ n: string; max: number }>(superuser(r, c.status?.currentPrimary ?? ''), 'SELECT count(*) AS n, max(id) AS max FROM t');
  assert.equal(Number(rows[0]?.n), 120, 'the backup plus the archived WAL after it');
  assert.equal(rows[0]?.max, 120);
});

test('wrong S3 credentials: the BackupJob fails with the reason in bounded time; ContinuousArchiving=False', async () => {
  const bad = new LocalCluster(state, 's3bad');
  await bad.ok(['local', 'apply', '-f', manifest('s3bad', `  instances: 1\n  postgresVersion: 15\n  backup:\n${repoYaml('    ', 's3-wrong')}`)]);
  const c = await bad.waitFor('a primary', (x) => !!x.status?.currentPrimary && (x.status.instances ?? []).some((i) => i.ready), 240_000);
  await query(superuser(bad, c.status?.currentPrimary ?? ''), 'CREATE TABLE probe (id int)');
  await query(superuser(bad, c.status?.currentPrimary ?? ''), 'SELECT pg_switch_wal()');
  const failing = await bad.waitFor('ContinuousArchiving=False', (x) => archiving(x)?.status === 'False', 180_000);
  assert.match(archiving(failing)?.message ?? '', /archiving [0-9A-F]{24} failed at /);
  const run = await bad.run(['local', 'backup', 's3bad', '--wait', '--timeout', '300']);
  assert.notEqual(run.code, 0);
  const name = /backupjob\/(\S+) created/.exec(run.stdout)?.[1] ?? '';
  const j = await eventually(async () => JSON.parse(await bad.ok(['local', 'get', 'backupjob', name, '-o', 'json'])) as BackupJob, (x) => x.status?.phase === 'Failed', 60_000);
  assert.match(j.status?.message ?? '', /403|InvalidAccessKeyId|SignatureDoesNotMatch|AccessDenied/);
  assert.doesNotMatch(JSON.stringify(j), /not-the-secret-key/, 'the secret never reaches status');
});
