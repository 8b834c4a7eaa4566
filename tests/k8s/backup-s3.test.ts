// S3 repositories on a real kube-apiserver with the process kubelet (issue #13): a real S3 server (versitygw, TLS
// verified against its own certificate through `caSecret`), the keys in a user Secret (`credentialsSecret`) that
// the agents read through their own ServiceAccount (the instance Role names it) and copy into 0600 files. A
// cluster archives WAL into the bucket, a BackupJob succeeds with its label and repository in status, and a new
// cluster restores from the bucket with the rows. Wrong keys end a BackupJob Failed with the S3 error in bounded
// time; a missing Secret or key is named in the cluster's status. The operator runs under the chart's RBAC.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CoreV1Api } from '@kubernetes/client-node';
import { instanceSql } from './harness/instance-sql.js';
import { startK8sEnv, type K8sEnv, type CustomObject } from './harness/k8s-env.js';
import { eventually } from '../helpers/sql.js';
import { startVersitygw, type S3Server } from '../s3/versitygw.js';

const ns = 'default';
const API = 'postgres.keiailab.io/v1alpha1';
const BUCKET = 'pgop-backups';
let env: K8sEnv;
let s3: S3Server;
const s3dir = mkdtempSync(join(tmpdir(), 'pgop-k8s-s3gw-'));

const secretObject = (name: string, stringData: Record<string, string>) => ({ apiVersion: 'v1', kind: 'Secret', type: 'Opaque', metadata: { name, namespace: ns }, stringData });

before(async () => {
  s3 = await startVersitygw(s3dir);
  await s3.createBucket(BUCKET);
  env = await startK8sEnv('s3', {}, { chartIdentity: true });
  await env.apply(
    secretObject('s3-creds', { accessKeyId: s3.accessKeyId, secretAccessKey: s3.secretAccessKey }),
    secretObject('s3-wrong', { accessKeyId: s3.accessKeyId, secretAccessKey: 'not-the-secret-key' }),
    secretObject('s3-half', { accessKeyId: s3.accessKeyId }),
    secretObject('s3-ca', { 'ca.crt': readFileSync(s3.caFile, 'utf8') }),
  );
}, { timeout: 60 * 60_000 });
after(async () => {
  await env?.stop();
  s3?.stop();
  if (process.env.PGOP_TEST_KEEP_STATE !== '1') rmSync(s3dir, { recursive: true, force: true });
});

const repository = (credentialsSecret = 's3-creds') => ({
  s3: { endpoint: s3.endpoint, bucket: BUCKET, region: 'us-east-1', path: '/clusters', uriStyle: 'path', credentialsSecret, caSecret: 's3-ca', verifyTLS: true },
});
const { sql } = instanceSql(() => env, ns);
const waitCluster = (name: string, what: string, ok: (c: CustomObject) => boolean, timeoutMs = 300_000) =>
  eventually(() => env.custom('postgresclusters', name), (c) => !!c && ok(c), timeoutMs)
    .catch((e: unknown) => { throw new Error(`${name}: ${what}: ${(e as Error).message}\n${env.operatorLog()}`); }) as Promise<CustomObject>;
type Condition = { type: string; status: string; message?: string };
const condition = (c: CustomObject, type: string) => (c.status?.conditions as Condition[] | undefined)?.find((x) => x.type === type);
const primaryOf = (c: CustomObject) => String(c.status?.currentPrimary ?? '');
const cluster = (name: string, spec: Record<string, unknown>) => ({ apiVersion: API, kind: 'PostgresCluster', metadata: { name, namespace: ns }, spec: { instances: 1, postgresVersion: 15, ...spec } });
const backupJob = (name: string, clusterName: string) => ({ apiVersion: API, kind: 'BackupJob', metadata: { name, namespace: ns }, spec: { cluster: { name: clusterName }, backupType: 'full', target: 'primary' } });
const finished = (name: string, timeoutMs: number) => eventually(() => env.custom('backupjobs', name), (j) => j?.status?.phase === 'Succeeded' || j?.status?.phase === 'Failed', timeoutMs)
  .catch((e: unknown) => { throw new Error(`BackupJob ${name}: ${(e as Error).message}\n${env.operatorLog()}`); });

/** Files under the kubelet's pod directories (not the data directories) that contain `text`, with their modes. */
function filesHolding(text: string): { file: string; mode: number }[] {
  const out: { file: string; mode: number }[] = [];
  const walk = (dir: string) => {
    for (const e of readdirSync(dir, { withFileTypes: true })) {
      const p = join(dir, e.name);
      if (e.isDirectory()) { if (e.name !== 'pgdata' && e.name !== 'pvc') walk(p); continue; }
      if (!e.isFile()) continue;
      const st = statSync(p);
      if (st.size > 4 * 1024 * 1024) continue;
      if (readFileSync(p).includes(text)) out.push({ file: p, mode: st.mode & 0o777 });
    }
  };
  walk(join(env.work, 'kubelet'));
  return out;
}

test('a cluster archives into S3 with the keys from its Secret, and a BackupJob records the backup in the bucket', async () => {
  await env.apply(cluster('src', { backup: { repository: repository() } }));
  const src = await waitCluster('src', 'Ready and archiving', (c) => c.status?.phase === 'Ready' && condition(c, 'ContinuousArchiving')?.status === 'True');
  const primary = primaryOf(src);
  const stanzaDir = join(s3dir, 'root', BUCKET, 'clusters');
  assert.ok(readdirSync(join(stanzaDir, 'archive', 'default_src')).includes('archive.info'), 'the stanza is in the bucket');
  await sql('src', primary, 'CREATE TABLE t (id int PRIMARY KEY)');
  await sql('src', primary, 'INSERT INTO t SELECT generate_series(1, 100)');

  await env.apply(backupJob('src-full', 'src'));
  const job = await finished('src-full', 300_000);
  assert.equal(job?.status?.phase, 'Succeeded', String(job?.status?.message));
  assert.equal(job?.status?.repository, `s3://${BUCKET}/clusters`);
  const label = String(job?.status?.backupId ?? '');
  assert.match(label, /^\d{8}-\d{6}F$/);
  assert.ok(readdirSync(join(stanzaDir, 'backup', 'default_src')).includes(label), 'the backup is in the bucket');

  await sql('src', primary, 'INSERT INTO t SELECT generate_series(101, 120)');
  const [sw] = await sql<{ seg: string }>('src', primary, 'SELECT pg_walfile_name(pg_switch_wal()) AS seg');
  await eventually(() => sql<{ last: string | null }>('src', primary, 'SELECT last_archived_wal AS last FROM pg_stat_archiver'),
    (r) => (r[0]?.last ?? '') >= (sw?.seg ?? 'Z'), 120_000);

  // The secret key is only in files no one but their owner reads (the agent's copy and the pgBackRest config).
  const holding = filesHolding(s3.secretAccessKey);
  assert.ok(holding.length >= 2, `the agent's copy and the pgBackRest config: ${JSON.stringify(holding)}`);
  for (const h of holding) assert.equal(h.mode, 0o600, `${h.file} is ${h.mode.toString(8)}`);
  const pods = (await env.kc.makeApiClient(CoreV1Api).listNamespacedPod({ namespace: ns, labelSelector: 'postgres.keiailab.io/cluster=src' })).items;
  assert.doesNotMatch(JSON.stringify(pods), new RegExp(s3.secretAccessKey), 'the Pod spec holds no key');
});

test('a new cluster restores from the bucket (spec.bootstrap.recovery) with the rows', async () => {
  await env.apply(cluster('dst', {
    backup: { repository: repository() },
    bootstrap: { recovery: { repository: repository(), sourceCluster: { namespace: ns, name: 'src' } } },
  }));
  const dst = await waitCluster('dst', 'Ready', (c) => c.status?.phase === 'Ready');
  const [rows] = await sql<{ n: string; max: number }>('dst', primaryOf(dst), 'SELECT count(*) AS n, max(id) AS max FROM t');
  assert.equal(Number(rows?.n), 120, 'the backup plus the archived WAL after it');
  assert.equal(rows?.max, 120);
  await waitCluster('dst', 'archiving into its own stanza', (c) => condition(c, 'ContinuousArchiving')?.status === 'True', 180_000);
  assert.ok(readdirSync(join(s3dir, 'root', BUCKET, 'clusters', 'archive', 'default_dst')).includes('archive.info'));
});

test('wrong S3 keys: the BackupJob fails with the S3 error in bounded time, and the key never reaches status', async () => {
  await env.apply(cluster('bad', { backup: { repository: repository('s3-wrong') } }));
  await waitCluster('bad', 'a ready primary', (c) => !!primaryOf(c) && ((c.status?.instances ?? []) as { ready?: boolean }[]).some((i) => i.ready));
  await env.apply(backupJob('bad-full', 'bad'));
  const job = await finished('bad-full', 240_000);
  assert.equal(job?.status?.phase, 'Failed');
  assert.match(String(job?.status?.message), /403|InvalidAccessKeyId|SignatureDoesNotMatch|AccessDenied/);
  assert.doesNotMatch(JSON.stringify(job), /not-the-secret-key/);
});

test('a missing credentials Secret, or one without secretAccessKey, is named in the cluster\'s status', async () => {
  await env.apply(cluster('nosecret', { backup: { repository: repository('s3-absent') } }), cluster('halfsecret', { backup: { repository: repository('s3-half') } }));
  const message = (c: CustomObject) => `${String(c.status?.phaseReason ?? '')} ${condition(c, 'Ready')?.message ?? ''}`;
  const [absent, half] = await Promise.all([
    waitCluster('nosecret', 'Failed naming the Secret', (c) => c.status?.phase === 'Failed', 180_000),
    waitCluster('halfsecret', 'Failed naming the key', (c) => c.status?.phase === 'Failed', 180_000),
  ]);
  assert.match(message(absent), /Secret s3-absent \(spec\.backup\.repository\.s3\.credentialsSecret\) not found/);
  assert.match(message(half), /Secret s3-half \(spec\.backup\.repository\.s3\.credentialsSecret\) has no secretAccessKey key/);
  const pods = (await env.kc.makeApiClient(CoreV1Api).listNamespacedPod({ namespace: ns, labelSelector: 'postgres.keiailab.io/cluster in (nosecret,halfsecret)' })).items;
  assert.deepEqual(pods.map((p) => p.metadata?.name), [], 'no Pod waits for a Secret it cannot have');
});
