// An S3 repository added to a running cluster on a real kube-apiserver with the process kubelet (issue #13): a
// cluster created without spec.backup is patched to add spec.backup.repository.s3 (keys in a user Secret, a private
// CA in another, versitygw over TLS). The agents' Role grows to `get` exactly those Secrets, the agents read them
// into 0600 files and render the pgBackRest config, the primary's stanza is created and WAL archiving starts
// (ContinuousArchiving=True), and a BackupJob succeeds with the backup in the bucket. Then prefer-standby's fallback
// after a failed standby attempt: with the standby's replay paused its agent answers with pgBackRest's error, and the
// primary's agent takes the backup; the BackupJob names the primary and says why. Last, a posix repository added the
// same way: the running Pods have no volume for its claim, so every instance reports a pending restart and the rolling
// update re-creates the Pods with it, the primary last. The operator runs under the chart's RBAC.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CoreV1Api, RbacAuthorizationV1Api } from '@kubernetes/client-node';
import { instanceSql } from './harness/instance-sql.js';
import { startK8sEnv, type K8sEnv, type CustomObject } from './harness/k8s-env.js';
import { eventually } from '../helpers/sql.js';
import { startVersitygw, type S3Server } from '../s3/versitygw.js';

const ns = 'default';
const API = 'postgres.keiailab.io/v1alpha1';
const BUCKET = 'pgop-added';
let env: K8sEnv;
let s3: S3Server;
const s3dir = mkdtempSync(join(tmpdir(), 'pgop-k8s-s3add-'));

const secretObject = (name: string, stringData: Record<string, string>) => ({ apiVersion: 'v1', kind: 'Secret', type: 'Opaque', metadata: { name, namespace: ns }, stringData });

before(async () => {
  s3 = await startVersitygw(s3dir);
  await s3.createBucket(BUCKET);
  env = await startK8sEnv('s3-added', {}, { chartIdentity: true });
  await env.apply(
    secretObject('added-creds', { accessKeyId: s3.accessKeyId, secretAccessKey: s3.secretAccessKey }),
    secretObject('added-ca', { 'ca.crt': readFileSync(s3.caFile, 'utf8') }),
  );
}, { timeout: 60 * 60_000 });
after(async () => {
  await env?.stop();
  s3?.stop();
  if (process.env.PGOP_TEST_KEEP_STATE !== '1') rmSync(s3dir, { recursive: true, force: true });
});

const { sql } = instanceSql(() => env, ns);
const waitCluster = (name: string, what: string, ok: (c: CustomObject) => boolean, timeoutMs = 300_000) =>
  eventually(() => env.custom('postgresclusters', name), (c) => !!c && ok(c), timeoutMs)
    .catch((e: unknown) => { throw new Error(`${name}: ${what}: ${(e as Error).message}\n${env.operatorLog()}`); }) as Promise<CustomObject>;
type Condition = { type: string; status: string; reason?: string; message?: string };
const condition = (c: CustomObject, type: string) => (c.status?.conditions as Condition[] | undefined)?.find((x) => x.type === type);
const instances = (c: CustomObject) => (c.status?.instances ?? []) as { name: string; role: string; ready: boolean }[];
const primaryOf = (c: CustomObject) => String(c.status?.currentPrimary ?? '');
/** The Secrets the agents' Role (`<cluster>-instance`) lets them `get`. */
const roleSecrets = async (): Promise<string[]> => {
  const role = await env.kc.makeApiClient(RbacAuthorizationV1Api).readNamespacedRole({ namespace: ns, name: 'late-instance' });
  return (role?.rules ?? []).filter((r) => r.resources?.includes('secrets')).flatMap((r) => r.resourceNames ?? []);
};

test('an S3 repository added to a running cluster: the Role, the agents, archiving and a BackupJob follow', async () => {
  await env.apply({ apiVersion: API, kind: 'PostgresCluster', metadata: { name: 'late', namespace: ns }, spec: { instances: 2, postgresVersion: 15 } });
  const ready = await waitCluster('late', 'Ready with 2 instances', (c) => c.status?.phase === 'Ready' && c.status.readyInstances === 2);
  const before = await roleSecrets();
  assert.ok(before.length > 0 && !before.includes('added-creds') && !before.includes('added-ca'), `no repository Secrets yet: ${JSON.stringify(before)}`);
  assert.notEqual(condition(ready, 'ContinuousArchiving')?.status, 'True', 'nothing archives without a repository');
  await sql('late', primaryOf(ready), 'CREATE TABLE t AS SELECT g AS id FROM generate_series(1, 500) g');

  const repository = { s3: { endpoint: s3.endpoint, bucket: BUCKET, region: 'us-east-1', path: '/late', uriStyle: 'path', credentialsSecret: 'added-creds', caSecret: 'added-ca', verifyTLS: true } };
  const r = await env.kubectl(['patch', 'postgrescluster', 'late', '--type', 'merge', '-p', JSON.stringify({ spec: { backup: { repository } } })]);
  assert.equal(r.status, 0, r.stderr);

  await eventually(roleSecrets, (names) => names.includes('added-creds') && names.includes('added-ca'), 120_000)
    .catch((e: unknown) => { throw new Error(`the Role names the repository Secrets: ${(e as Error).message}\n${env.operatorLog()}`); });
  // No restart: archive_mode was on already, archive_command follows by reload; True once a segment reached the bucket.
  const archiving = await waitCluster('late', 'Ready and ContinuousArchiving=True', (c) => c.status?.phase === 'Ready' && c.status.readyInstances === 2
    && condition(c, 'ContinuousArchiving')?.status === 'True' && /^last archived /.test(condition(c, 'ContinuousArchiving')?.message ?? ''), 600_000);
  const primary = primaryOf(archiving);
  const [s] = await sql<{ mode: string; cmd: string }>('late', primary, "SELECT current_setting('archive_mode') AS mode, current_setting('archive_command') AS cmd");
  assert.equal(s?.mode, 'on');
  assert.ok(!(archiving.status?.pendingRestart as string[] | undefined)?.length, 'nothing waits for a restart');
  assert.match(s?.cmd ?? '', /--stanza=default_late archive-push %p$/);
  assert.ok(readdirSync(join(s3dir, 'root', BUCKET, 'late', 'archive', 'default_late')).includes('archive.info'), 'the stanza is in the bucket');

  await env.apply({ apiVersion: API, kind: 'BackupJob', metadata: { name: 'late-full', namespace: ns }, spec: { cluster: { name: 'late' }, backupType: 'full' } });
  const job = await eventually(() => env.custom('backupjobs', 'late-full'), (j) => j?.status?.phase === 'Succeeded' || j?.status?.phase === 'Failed', 400_000)
    .catch((e: unknown) => { throw new Error(`BackupJob late-full: ${(e as Error).message}\n${env.operatorLog()}`); });
  assert.equal(job?.status?.phase, 'Succeeded', String(job?.status?.message));
  assert.equal(job?.status?.repository, `s3://${BUCKET}/late`);
  assert.ok(instances(archiving).some((i) => i.name === job?.status?.instance), String(job?.status?.instance));
  const label = String(job?.status?.backupId ?? '');
  assert.match(label, /^\d{8}-\d{6}F$/);
  assert.ok(readdirSync(join(s3dir, 'root', BUCKET, 'late', 'backup', 'default_late')).includes(label), 'the backup is in the bucket');
});

test('prefer-standby on that cluster with the standby\'s replay paused: its agent answers with the failure and the primary backs up', async () => {
  const c = await waitCluster('late', 'Ready with a ready replica', (x) => x.status?.phase === 'Ready' && instances(x).some((i) => i.role === 'replica' && i.ready));
  const primary = primaryOf(c);
  const standby = instances(c).find((i) => i.role === 'replica' && i.ready)?.name ?? '';
  assert.ok(standby && standby !== primary);
  // pgBackRest on the standby waits archive-timeout (60 s) for replay to reach the backup's start, then gives up; the
  // agent's answer is that error, so nothing runs there any more and the primary may back up.
  await sql('late', standby, 'SELECT pg_wal_replay_pause()');
  try {
    await env.apply({ apiVersion: API, kind: 'BackupJob', metadata: { name: 'late-paused', namespace: ns }, spec: { cluster: { name: 'late' }, backupType: 'full', target: 'prefer-standby' } });
    const job = await eventually(() => env.custom('backupjobs', 'late-paused'), (j) => j?.status?.phase === 'Succeeded' || j?.status?.phase === 'Failed', 500_000)
      .catch((e: unknown) => { throw new Error(`BackupJob late-paused: ${(e as Error).message}\n${env.operatorLog()}`); });
    assert.equal(job?.status?.phase, 'Succeeded', String(job?.status?.message));
    assert.equal(job?.status?.instance, primary, 'the primary copied the files');
    assert.match(String(job?.status?.message), new RegExp(`^prefer-standby: the backup on standby ${standby} failed \\(.*replay.*\\); backed up on the primary$`, 's'));
    const label = String(job?.status?.backupId ?? '');
    assert.match(label, /^\d{8}-\d{6}F$/);
    assert.ok(readdirSync(join(s3dir, 'root', BUCKET, 'late', 'backup', 'default_late')).includes(label), 'the backup is in the bucket');
  } finally {
    await sql('late', standby, 'SELECT pg_wal_replay_resume()').catch(() => undefined);
  }
});

test('a posix repository added to a running cluster: the Pods are re-created with its volume, the primary last; archiving and a BackupJob follow', async () => {
  const name = 'latep';
  await env.apply({ apiVersion: API, kind: 'PostgresCluster', metadata: { name, namespace: ns }, spec: { instances: 2, postgresVersion: 15 } });
  const ready = await waitCluster(name, 'Ready with 2 instances', (c) => c.status?.phase === 'Ready' && c.status.readyInstances === 2);
  const pods = async () => (await env.kc.makeApiClient(CoreV1Api).listNamespacedPod({ namespace: ns, labelSelector: `postgres.keiailab.io/cluster=${name}` })).items;
  const uids = Object.fromEntries((await pods()).map((p) => [p.metadata?.name, p.metadata?.uid]));
  await sql(name, primaryOf(ready), 'CREATE TABLE kept AS SELECT g AS id FROM generate_series(1, 300) g');
  await env.apply({ apiVersion: 'v1', kind: 'PersistentVolumeClaim', metadata: { name: 'latep-backups', namespace: ns }, spec: { accessModes: ['ReadWriteMany'], resources: { requests: { storage: '1Gi' } } } });
  const r = await env.kubectl(['patch', 'postgrescluster', name, '--type', 'merge', '-p', JSON.stringify({ spec: { backup: { repository: { posix: { path: '/var/lib/pgbackrest', volumeClaim: 'latep-backups' } } } } })]);
  assert.equal(r.status, 0, r.stderr);
  const archiving = await waitCluster(name, 'every Pod re-created, Ready, ContinuousArchiving=True', (c) => c.status?.phase === 'Ready' && c.status.readyInstances === 2
    && condition(c, 'ContinuousArchiving')?.status === 'True' && /^last archived /.test(condition(c, 'ContinuousArchiving')?.message ?? ''), 600_000);
  const now = await pods();
  assert.ok(now.length === 2 && now.every((p) => p.metadata?.uid !== uids[p.metadata?.name ?? '']), 'every Pod is a new one');
  assert.ok(now.every((p) => p.spec?.volumes?.some((v) => v.persistentVolumeClaim?.claimName === 'latep-backups')), 'each mounts the repository claim');
  assert.notEqual(primaryOf(archiving), primaryOf(ready), 'the primary was re-created last, after a switchover');
  assert.ok(!(archiving.status?.pendingRestart as string[] | undefined)?.length, 'nothing waits for a restart');
  const [row] = await sql<{ n: string }>(name, primaryOf(archiving), 'SELECT count(*)::text AS n FROM kept');
  assert.equal(row?.n, '300');
  const volume = env.kubelet.volumeDir(ns, 'latep-backups');
  assert.ok(readdirSync(join(volume, 'archive', `default_${name}`)).includes('archive.info'), 'the stanza is on the claim\'s volume');
  await env.apply({ apiVersion: API, kind: 'BackupJob', metadata: { name: 'latep-full', namespace: ns }, spec: { cluster: { name }, backupType: 'full' } });
  const job = await eventually(() => env.custom('backupjobs', 'latep-full'), (j) => j?.status?.phase === 'Succeeded' || j?.status?.phase === 'Failed', 400_000)
    .catch((e: unknown) => { throw new Error(`BackupJob latep-full: ${(e as Error).message}\n${env.operatorLog()}`); });
  assert.equal(job?.status?.phase, 'Succeeded', String(job?.status?.message));
  assert.equal(job?.status?.repository, 'posix:/var/lib/pgbackrest');
});
