// Restore on a real kube-apiserver with the process kubelet (issue #13, ADR 0030): the posix repository is a
// ReadWriteMany PersistentVolumeClaim mounted in the instance Pods; a BackupJob backs the source up, rows are written
// with recorded times, the source cluster is deleted, and a PostgresCluster with spec.bootstrap.recovery and a time
// target is applied with kubectl. Its first Pod restores with pgBackRest and promotes, its replica clones from the
// new primary, both hold exactly the rows up to the target, and the new cluster archives into its own stanza.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { CoreV1Api } from '@kubernetes/client-node';
import { instanceSql } from './harness/instance-sql.js';
import { startK8sEnv, type K8sEnv } from './harness/k8s-env.js';
import { eventually } from '../helpers/sql.js';

const ns = 'default';
const API = 'postgres.keiailab.io/v1alpha1';
const REPO_PATH = '/var/lib/pgbackrest';
let env: K8sEnv;

before(async () => { env = await startK8sEnv('restore'); }, { timeout: 60 * 60_000 });
after(async () => { await env?.stop(); });

const { sql } = instanceSql(() => env, ns);
const waitCluster = (name: string, what: string, ok: (c: NonNullable<Awaited<ReturnType<K8sEnv['custom']>>>) => boolean, timeoutMs = 240_000) =>
  eventually(() => env.custom('postgresclusters', name), (c) => !!c && ok(c), timeoutMs)
    .catch((e: unknown) => { throw new Error(`${name}: ${what}: ${(e as Error).message}\n${env.operatorLog()}`); }) as Promise<NonNullable<Awaited<ReturnType<K8sEnv['custom']>>>>;
const repository = { posix: { path: REPO_PATH, volumeClaim: 'backups' } };
const primaryOf = (c: { status?: Record<string, unknown> }) => String(c.status?.currentPrimary ?? '');
/** Commits a row and returns the server's clock right after the commit. */
async function writeRow(cluster: string, instance: string, id: number): Promise<string> {
  await sql(cluster, instance, 'INSERT INTO t (id) VALUES ($1)', [id]);
  const [r] = await sql<{ at: string }>(cluster, instance, "SELECT to_char(clock_timestamp() AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"') AS at");
  return r?.at ?? '';
}

test('PITR on Kubernetes: a recovery manifest builds a new cluster from the repository volume after the source is gone', async () => {
  await env.apply({
    apiVersion: 'v1', kind: 'PersistentVolumeClaim', metadata: { name: 'backups', namespace: ns },
    spec: { accessModes: ['ReadWriteMany'], resources: { requests: { storage: '1Gi' } } },
  });
  await env.apply({ apiVersion: API, kind: 'PostgresCluster', metadata: { name: 'src', namespace: ns }, spec: { instances: 1, backup: { repository } } });
  const archiving = (c: { status?: Record<string, unknown> }) => (c.status?.conditions as { type: string; status: string }[] | undefined)?.find((x) => x.type === 'ContinuousArchiving')?.status;
  const src = await waitCluster('src', 'Ready and archiving', (c) => c.status?.phase === 'Ready' && archiving(c) === 'True', 300_000);
  const primary = primaryOf(src);
  // The repository lives on the claim's volume, not at the literal path on this machine.
  const volume = env.kubelet.volumeDir(ns, 'backups');
  assert.ok(existsSync(join(volume, 'archive', 'default_src', 'archive.info')), 'the stanza is on the claim');
  assert.ok(!existsSync(REPO_PATH) || !existsSync(join(REPO_PATH, 'archive', 'default_src')));

  await env.apply({ apiVersion: API, kind: 'BackupJob', metadata: { name: 'src-full', namespace: ns }, spec: { cluster: { name: 'src' }, backupType: 'full', target: 'primary' } });
  const job = await eventually(() => env.custom('backupjobs', 'src-full'), (j) => j?.status?.phase === 'Succeeded' || j?.status?.phase === 'Failed', 240_000);
  assert.equal(job?.status?.phase, 'Succeeded', String(job?.status?.message));
  assert.equal(job?.status?.repository, `posix:${REPO_PATH}`);
  const label = String(job?.status?.backupId ?? '');
  assert.ok(readdirSync(join(volume, 'backup', 'default_src')).includes(label), 'the backup is on the claim');

  await sql('src', primary, 'CREATE TABLE t (id int PRIMARY KEY)');
  const t1 = await writeRow('src', primary, 1);
  await new Promise((r) => setTimeout(r, 1500));
  await writeRow('src', primary, 2);
  // Row 2's commit, which ends the replay at the target, must be in the archive before the source goes.
  const [sw] = await sql<{ seg: string }>('src', primary, 'SELECT pg_walfile_name(pg_switch_wal()) AS seg');
  await eventually(() => sql<{ last: string | null }>('src', primary, 'SELECT last_archived_wal AS last FROM pg_stat_archiver'),
    (r) => (r[0]?.last ?? '') >= (sw?.seg ?? 'Z'), 60_000);

  const del = await env.kubectl(['delete', 'postgrescluster', 'src', '--wait', '--timeout=120s']);
  assert.equal(del.status, 0, del.stderr);
  await eventually(async () => (await env.kc.makeApiClient(CoreV1Api).listNamespacedPod({ namespace: ns, labelSelector: 'postgres.keiailab.io/cluster=src' })).items.length, (n) => n === 0, 60_000);

  await env.apply({
    apiVersion: API, kind: 'PostgresCluster', metadata: { name: 'dst', namespace: ns },
    spec: { instances: 2, backup: { repository }, bootstrap: { recovery: { repository, sourceCluster: { namespace: ns, name: 'src' }, target: { time: t1 } } } },
  });
  const dst = await waitCluster('dst', 'Ready with 2 instances', (c) => c.status?.phase === 'Ready' && c.status.readyInstances === 2, 300_000);
  const newPrimary = primaryOf(dst);
  assert.deepEqual((await sql<{ id: number }>('dst', newPrimary, 'SELECT id FROM t ORDER BY id')).map((r) => r.id), [1]);
  const replica = (dst.status?.instances as { name: string; role: string }[]).find((i) => i.role === 'replica');
  assert.ok(replica, 'a replica');
  const [rec] = await sql<{ r: boolean }>('dst', replica.name, 'SELECT pg_is_in_recovery() AS r');
  assert.equal(rec?.r, true, 'the replica streams from the new primary');
  await eventually(() => sql<{ id: number }>('dst', replica.name, 'SELECT id FROM t ORDER BY id'), (rows) => rows.length === 1 && rows[0]?.id === 1, 30_000);
  // Its own stanza on the same volume; no recovery setting outlives the restore; the source's stanza untouched.
  const [s] = await sql<{ cmd: string; rc: string }>('dst', newPrimary, "SELECT current_setting('archive_command') AS cmd, current_setting('restore_command') AS rc");
  assert.match(s?.cmd ?? '', /--stanza=default_dst /);
  assert.equal(s?.rc, '');
  await waitCluster('dst', 'ContinuousArchiving=True', (c) => archiving(c) === 'True', 120_000);
  assert.ok(existsSync(join(volume, 'archive', 'default_dst', 'archive.info')));
  assert.deepEqual(readdirSync(join(volume, 'backup', 'default_src')).filter((f) => /^\d{8}-\d{6}F$/.test(f)), [label]);
  // Only the first Pod mounts the source's repository: the new cluster does not depend on it once restored.
  const pods = (await env.kc.makeApiClient(CoreV1Api).listNamespacedPod({ namespace: ns, labelSelector: 'postgres.keiailab.io/cluster=dst' })).items;
  const mounts = (p: (typeof pods)[number]) => (p.spec?.containers[0]?.env ?? []).map((e) => e.name).filter((n) => n.startsWith('PGOP_REPO_')).sort();
  assert.deepEqual(pods.map((p) => [p.metadata?.name, mounts(p)]).sort(), [['dst-1', ['PGOP_REPO_BACKUP_PATH', 'PGOP_REPO_RECOVERY_PATH']], ['dst-2', ['PGOP_REPO_BACKUP_PATH']]]);
});
