// prefer-standby backups on Kubernetes (issue #13, ADR 0035), on a real kube-apiserver with the process kubelet:
// every instance's agent runs a `pgbackrest server` (TLS, cluster certificates) and a ready standby's agent backs up
// with pg1 = the primary reached through that server, pg2 = its own data directory. The BackupJob names the standby,
// `pgbackrest info` on the repository volume lists the backup under the job's annotation, a new cluster restored
// from it holds the rows, and on that single-instance cluster prefer-standby falls back to the primary and says so.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { instanceSql } from './harness/instance-sql.js';
import { startK8sEnv, type K8sEnv } from './harness/k8s-env.js';
import { eventually } from '../helpers/sql.js';
import { runCommand } from '../../adapters/os/run-command.js';

const ns = 'default';
const API = 'postgres.keiailab.io/v1alpha1';
const REPO_PATH = '/var/lib/pgbackrest';
const repository = { posix: { path: REPO_PATH, volumeClaim: 'sb-backups' } };
let env: K8sEnv;

before(async () => { env = await startK8sEnv('standby-backup'); }, { timeout: 60 * 60_000 });
after(async () => { await env?.stop(); });

const { sql } = instanceSql(() => env, ns);
type Obj = NonNullable<Awaited<ReturnType<K8sEnv['custom']>>>;
const waitFor = (plural: string, name: string, what: string, ok: (c: Obj) => boolean, timeoutMs = 300_000) =>
  eventually(() => env.custom(plural, name), (c) => !!c && ok(c), timeoutMs)
    .catch((e: unknown) => { throw new Error(`${name}: ${what}: ${(e as Error).message}\n${env.operatorLog()}`); }) as Promise<Obj>;
const archiving = (c: Obj) => (c.status?.conditions as { type: string; status: string }[] | undefined)?.find((x) => x.type === 'ContinuousArchiving')?.status;
const instances = (c: Obj) => (c.status?.instances ?? []) as { name: string; role: string; ready: boolean }[];

/** `pgbackrest info` of a stanza, read straight from the claim's volume on this machine (not through any agent). */
async function repositoryInfo(stanza: string): Promise<{ label: string; annotation?: Record<string, string> }[]> {
  const scratch = mkdtempSync(join(tmpdir(), 'pgop-sb-info-'));
  try {
    const base = [`--repo1-path=${env.kubelet.volumeDir(ns, 'sb-backups')}`, `--stanza=${stanza}`, `--lock-path=${scratch}`, '--log-level-file=off', '--log-level-console=off'];
    const list = (JSON.parse(await runCommand('pgbackrest', [...base, 'info', '--output=json'])) as { backup?: { label: string }[] }[])[0]?.backup ?? [];
    const out = [];
    // Annotations are listed only for one set at a time.
    for (const b of list) {
      const one = (JSON.parse(await runCommand('pgbackrest', [...base, `--set=${b.label}`, 'info', '--output=json'])) as { backup?: { label: string; annotation?: Record<string, string> }[] }[])[0]?.backup ?? [];
      out.push(...one.filter((x) => x.label === b.label));
    }
    return out;
  } finally { rmSync(scratch, { recursive: true, force: true }); }
}

test('prefer-standby on Kubernetes: the replica backs up through the primary\'s pgBackRest TLS server, and a restore from it works', async () => {
  await env.apply({
    apiVersion: 'v1', kind: 'PersistentVolumeClaim', metadata: { name: 'sb-backups', namespace: ns },
    spec: { accessModes: ['ReadWriteMany'], resources: { requests: { storage: '1Gi' } } },
  });
  await env.apply({ apiVersion: API, kind: 'PostgresCluster', metadata: { name: 'sb', namespace: ns }, spec: { instances: 2, backup: { repository } } });
  const c = await waitFor('postgresclusters', 'sb', 'Ready, 2 instances, archiving',
    (x) => x.status?.phase === 'Ready' && x.status.readyInstances === 2 && archiving(x) === 'True' && instances(x).some((i) => i.role === 'replica' && i.ready));
  const primary = String(c.status?.currentPrimary ?? '');
  const replica = instances(c).find((i) => i.role === 'replica')?.name ?? '';
  assert.ok(primary && replica && primary !== replica);
  await sql('sb', primary, 'CREATE TABLE t AS SELECT g AS id FROM generate_series(1, 1000) g');
  await eventually(() => sql<{ n: string }>('sb', replica, 'SELECT count(*) AS n FROM t').catch(() => []), (r) => r[0]?.n === '1000', 60_000);

  await env.apply({ apiVersion: API, kind: 'BackupJob', metadata: { name: 'sb-standby', namespace: ns }, spec: { cluster: { name: 'sb' }, backupType: 'full', target: 'prefer-standby' } });
  const job = await waitFor('backupjobs', 'sb-standby', 'Succeeded or Failed', (j) => j.status?.phase === 'Succeeded' || j.status?.phase === 'Failed');
  assert.equal(job.status?.phase, 'Succeeded', String(job.status?.message));
  assert.equal(job.status?.instance, replica, `the standby took it, not the primary (${String(job.status?.message ?? '')})`);
  assert.equal(job.status?.message, undefined, 'no fallback note');
  const label = String(job.status?.backupId ?? '');
  assert.match(label, /^\d{8}-\d{6}F$/);
  const uid = (job.metadata as { uid?: string }).uid;
  assert.ok(uid);
  const info = await repositoryInfo('default_sb');
  const listed = info.find((b) => b.label === label);
  assert.ok(listed, `pgbackrest info lists ${label}: ${JSON.stringify(info.map((b) => b.label))}`);
  assert.equal(listed.annotation?.['pgop-backupjob'], uid, 'annotated with the BackupJob');

  // Restore the standby's backup into a new cluster (latest: the only backup, then the archive to its end).
  await env.apply({
    apiVersion: API, kind: 'PostgresCluster', metadata: { name: 'sbr', namespace: ns },
    spec: { instances: 1, backup: { repository }, bootstrap: { recovery: { repository, sourceCluster: { namespace: ns, name: 'sb' } } } },
  });
  const r = await waitFor('postgresclusters', 'sbr', 'restored and Ready', (x) => x.status?.phase === 'Ready');
  const restored = String(r.status?.currentPrimary ?? '');
  assert.deepEqual(await sql<{ n: string }>('sbr', restored, 'SELECT count(*) AS n FROM t'), [{ n: '1000' }]);
  // An idle restored instance reports its pre-stanza archive failures until it archives a new segment.
  await sql('sbr', restored, 'INSERT INTO t VALUES (1001)');
  await sql('sbr', restored, 'SELECT pg_switch_wal()');
  await waitFor('postgresclusters', 'sbr', 'archiving', (x) => archiving(x) === 'True', 120_000);

  // A single instance has no standby: prefer-standby backs up on the primary and the status says why.
  await env.apply({ apiVersion: API, kind: 'BackupJob', metadata: { name: 'sbr-prefer', namespace: ns }, spec: { cluster: { name: 'sbr' }, backupType: 'full' } });
  const fallback = await waitFor('backupjobs', 'sbr-prefer', 'Succeeded or Failed', (j) => j.status?.phase === 'Succeeded' || j.status?.phase === 'Failed');
  assert.equal(fallback.status?.phase, 'Succeeded', String(fallback.status?.message));
  assert.equal(fallback.status?.instance, restored);
  assert.match(String(fallback.status?.message ?? ''), /prefer-standby: no ready streaming standby; backed up on the primary/);
});
