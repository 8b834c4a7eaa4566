// Backups on a real kube-apiserver with the process kubelet: a cluster with a posix repository on a
// PersistentVolumeClaim (mounted in its Pods) archives WAL from its primary Pod (ContinuousArchiving=True), and a BackupJob applied with kubectl reaches Succeeded with the
// pgBackRest label in its status — taken by the primary's agent (POST /backup), since the operator's worker does
// not reach the data directory on Kubernetes. The operator runs under the chart's ServiceAccount and RBAC.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, execFile, type ChildProcess } from 'node:child_process';
import { appendFileSync, existsSync, mkdtempSync, openSync, closeSync, readFileSync, rmSync, chmodSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CustomObjectsApi, type KubeConfig } from '@kubernetes/client-node';
import { startControlPlane, kubectlBin, type ControlPlane } from './harness/control-plane.js';
import { startProcessKubelet, type ProcessKubelet } from './harness/process-kubelet.js';
import { helmBin, renderChart } from './harness/helm.js';
import { applyChartRbac, serviceAccountKubeconfigFile } from './harness/chart-identity.js';
import { loadKubeConfig } from '../../adapters/k8s/client.js';
import { pgopCommand } from '../../adapters/local/self.js';
import { startRedis, stopRedis } from '../../adapters/local/redis-server.js';
import { StateDir } from '../../adapters/local/state-dir.js';
import type { PostgresCluster } from '../../crds/postgrescluster.js';
import type { BackupJob } from '../../crds/backupjob.js';
import { repoRoot, pgopBin } from '../helpers/cli.js';

let cp: ControlPlane;
let kubelet: ProcessKubelet;
let kc: KubeConfig;
let redis: { url: string; pid: number };
let operator: ChildProcess | undefined;
const work = mkdtempSync(join(tmpdir(), 'pgop-k8s-backup-'));
chmodSync(work, 0o755);
// Where the repository claim is mounted in the Pods; the process kubelet maps it to a host directory.
const repo = '/var/lib/pgbackrest';
const ns = 'default';
const kubectl = (args: string[]) => new Promise<{ status: number; stdout: string; stderr: string }>((resolve) => {
  execFile(kubectlBin, ['--kubeconfig', cp.kubeconfig, ...args], { encoding: 'utf8', timeout: 300_000 }, (err, stdout, stderr) => {
    resolve({ status: err ? (typeof err.code === 'number' ? err.code : 1) : 0, stdout, stderr });
  });
});
const operatorLog = () => { try { return readFileSync(join(work, 'operator.log'), 'utf8').split('\n').slice(-40).join('\n'); } catch { return ''; } };

async function get<T>(plural: string, name: string): Promise<T | undefined> {
  return kc.makeApiClient(CustomObjectsApi).getNamespacedCustomObject({ group: 'postgres.keiailab.io', version: 'v1alpha1', namespace: ns, plural, name })
    .then((o) => o as T, () => undefined);
}
async function waitFor<T>(what: string, read: () => Promise<T | undefined>, ok: (x: T) => boolean, timeoutMs = 240_000): Promise<T> {
  const until = Date.now() + timeoutMs;
  let last: T | undefined;
  while (Date.now() < until) {
    last = await read();
    if (last && ok(last)) return last;
    await new Promise((r) => setTimeout(r, 500));
  }
  throw new Error(`timed out waiting for ${what}; last: ${JSON.stringify((last as { status?: unknown } | undefined)?.status)}\n${operatorLog()}`);
}
async function apply(name: string, text: string): Promise<void> {
  const file = join(work, name);
  writeFileSync(file, text);
  const r = await kubectl(['apply', '-f', file]);
  assert.equal(r.status, 0, r.stderr);
}

before(async () => {
  cp = await startControlPlane();
  kc = loadKubeConfig(cp.kubeconfig);
  assert.equal((await kubectl(['apply', '--server-side', '-f', join(repoRoot, 'chart', 'crds')])).status, 0);
  assert.equal((await kubectl(['wait', '--for=condition=Established', '--timeout=60s', 'crd', '--all'])).status, 0);
  redis = await startRedis(new StateDir(join(work, 'redis-state')));
  await applyChartRbac(cp.kubeconfig, renderChart(helmBin(), 'pgop', ns, ['--set', `watchNamespace=${ns}`]).objects, work);
  const kubeconfig = await serviceAccountKubeconfigFile(kc, ns, 'pgop', join(work, 'operator.kubeconfig'));
  kubelet = await startProcessKubelet({
    kubeconfig: cp.kubeconfig, root: join(work, 'kubelet'), pgopCommand: (args) => pgopCommand(args),
    log: (line) => appendFileSync(join(work, 'kubelet.log'), `${new Date().toISOString()} ${line}\n`),
  });
  const log = openSync(join(work, 'operator.log'), 'a');
  operator = spawn(process.execPath, [pgopBin, 'operator', '--platform', 'kubernetes', '--kubeconfig', kubeconfig, '--namespace', ns, '--watch-namespace', ns, '--metrics-port', '0'], {
    env: { ...process.env, REDIS_URL: redis.url, POD_NAME: 'operator-a' }, stdio: ['ignore', log, log],
  });
  closeSync(log);
}, { timeout: 60 * 60_000 });

after(async () => {
  if (operator?.exitCode === null) operator.kill('SIGKILL');
  await kubelet?.stop();
  await stopRedis(redis?.pid);
  await cp?.stop();
  if (process.env.PGOP_TEST_KEEP_STATE !== '1') rmSync(work, { recursive: true, force: true });
});

test('the primary Pod archives WAL into the posix repository: ContinuousArchiving=True', async () => {
  await apply('pvc.yaml', 'apiVersion: v1\nkind: PersistentVolumeClaim\nmetadata:\n  name: bk-backups\nspec:\n  accessModes: [ReadWriteMany]\n  resources: { requests: { storage: 1Gi } }\n');
  await apply('cluster.yaml', `apiVersion: postgres.keiailab.io/v1alpha1\nkind: PostgresCluster\nmetadata:\n  name: bk\nspec:\n  instances: 1\n  backup:\n    repository:\n      posix:\n        path: ${repo}\n        volumeClaim: bk-backups\n`);
  const archiving = (c: PostgresCluster) => c.status?.conditions?.find((x) => x.type === 'ContinuousArchiving');
  await waitFor('Ready', () => get<PostgresCluster>('postgresclusters', 'bk'), (c) => c.status?.phase === 'Ready', 300_000);
  const c = await waitFor('ContinuousArchiving=True', () => get<PostgresCluster>('postgresclusters', 'bk'), (x) => archiving(x)?.status === 'True', 120_000);
  assert.equal(archiving(c)?.reason, 'Archiving');
  assert.ok(existsSync(join(kubelet.volumeDir(ns, 'bk-backups'), 'archive', 'default_bk', 'archive.info')), 'the stanza is on the claim\'s volume');
});

test('kubectl apply of a BackupJob: the primary\'s agent takes it and the job reaches Succeeded with the label', async () => {
  await apply('backup.yaml', 'apiVersion: postgres.keiailab.io/v1alpha1\nkind: BackupJob\nmetadata:\n  name: bk-full\nspec:\n  cluster: { name: bk }\n  backupType: full\n  target: primary\n');
  const job = await waitFor('BackupJob Succeeded', () => get<BackupJob>('backupjobs', 'bk-full'), (j) => j.status?.phase === 'Succeeded' || j.status?.phase === 'Failed', 300_000);
  assert.equal(job.status?.phase, 'Succeeded', job.status?.message);
  assert.match(job.status?.backupId ?? '', /^\d{8}-\d{6}F$/);
  assert.equal(job.status?.instance, 'bk-1');
  assert.equal(job.status?.repository, `posix:${repo}`);
  assert.ok((job.status?.sizeBytes ?? 0) > 1_000_000);
  assert.ok(job.status?.fingerprint?.lsn, 'the table fingerprint is recorded');
  const table = (await kubectl(['get', 'backupjob'])).stdout;
  assert.match(table, /bk-full\s+bk\s+full\s+Succeeded\s+[\d.]+ MiB/);
});

test('spec.backup.verify on Kubernetes: an instance\'s agent rehearses the latest backup from the mounted repository', async () => {
  const label = (await get<BackupJob>('backupjobs', 'bk-full'))?.status?.backupId ?? '';
  const fp = (await get<BackupJob>('backupjobs', 'bk-full'))?.status?.fingerprint;
  assert.ok(label && fp);
  const r = await kubectl(['patch', 'postgrescluster', 'bk', '--type', 'merge', '-p', JSON.stringify({ spec: { backup: { verify: { schedule: '*/15 * * * * *', keep: 3 } } } })]);
  assert.equal(r.status, 0, r.stderr);
  type Rehearsal = { verified: boolean; reason: string; message: string; backup?: string; tablesCompared?: number };
  const last = (c: PostgresCluster) => (c.status as { restoreVerification?: { last?: Rehearsal } } | undefined)?.restoreVerification?.last;
  const c = await waitFor(`a rehearsal of ${label}`, () => get<PostgresCluster>('postgresclusters', 'bk'), (x) => last(x)?.backup === label, 180_000);
  const rehearsal = last(c);
  assert.equal(rehearsal?.verified, true, rehearsal?.message);
  assert.equal(rehearsal?.reason, 'RestoreVerified');
  assert.equal(rehearsal?.tablesCompared, fp.tables.length);
  assert.match(rehearsal?.message ?? '', /amcheck clean/);
  assert.match(rehearsal?.message ?? '', /pg_checksums/);
  const cond = c.status?.conditions?.find((k) => k.type === 'LastRestoreVerified');
  assert.equal(cond?.status, 'True');
});
