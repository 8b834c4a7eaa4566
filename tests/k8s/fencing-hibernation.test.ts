// Hibernation and fencing on Kubernetes (issue #11, ADR 0028 and 0037), through `kubectl pgop` as a user runs it.
// Hibernation stops every instance cleanly (the primary first), deletes the Pods and keeps the PVCs, Secrets and
// Services; waking brings the same primary back with every row and the replicas streaming again. Fencing keeps the
// Pod and its agent but stops postgres (connections refused, the Pod not Ready, out of the -ro Service); a failover
// forced meanwhile never promotes the fenced instance, and unfencing brings it back streaming on the new timeline.
// Real kube-apiserver, real postgres processes run by the process kubelet.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdirSync, writeFileSync, chmodSync } from 'node:fs';
import { join } from 'node:path';
import { createConnection } from 'node:net';
import { CoreV1Api } from '@kubernetes/client-node';
import type pg from 'pg';
import { startK8sEnv, type K8sEnv } from './harness/k8s-env.js';
import { kubectlBin } from './harness/control-plane.js';
import { repoRoot } from '../helpers/cli.js';
import { eventually, query } from '../helpers/sql.js';
import type { PostgresCluster } from '../../crds/postgrescluster.js';
import { waitForCluster } from './harness/wait-cluster.js';
import { instanceSql } from './harness/instance-sql.js';

const ns = 'default';
const NAME = 'nap';
const INSTANCES = ['nap-1', 'nap-2', 'nap-3'];
let env: K8sEnv;
let pathDir: string;

before(async () => {
  env = await startK8sEnv('fencehib');
  pathDir = join(env.work, 'bin');
  mkdirSync(pathDir, { recursive: true });
  writeFileSync(join(pathDir, 'kubectl-pgop'), `#!/bin/sh\nexec "${process.execPath}" "${join(repoRoot, 'dist', 'bin', 'kubectl-pgop.js')}" "$@"\n`);
  chmodSync(join(pathDir, 'kubectl-pgop'), 0o755);
}, { timeout: 60 * 60_000 });
after(async () => { await env?.stop(); });

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const core = () => env.kc.makeApiClient(CoreV1Api);

/** `kubectl pgop ARGS`, the kubeconfig from the environment, as a user runs it. */
async function plugin(args: string[]): Promise<string> {
  const r = await new Promise<{ code: number; stdout: string; stderr: string }>((resolve) => {
    execFile(kubectlBin, ['pgop', ...args], { encoding: 'utf8', timeout: 120_000, env: { ...process.env, KUBECONFIG: env.cp.kubeconfig, PATH: `${pathDir}:${process.env.PATH ?? ''}` } },
      (err, stdout, stderr) => resolve({ code: err ? (typeof err.code === 'number' ? err.code : 1) : 0, stdout, stderr }));
  });
  assert.equal(r.code, 0, `kubectl pgop ${args.join(' ')}: ${r.stderr}`);
  return r.stdout;
}

const cluster = async () => (await env.custom('postgresclusters', NAME)) as PostgresCluster | undefined;
const primaryOf = (c: PostgresCluster) => c.status?.currentPrimary ?? '';
const instanceOf = (c: PostgresCluster, name: string) => (c.status?.instances ?? []).find((i) => i.name === name);
const allReady = (c: PostgresCluster) => c.status?.phase === 'Ready' && (c.status.instances ?? []).length === 3 && (c.status.instances ?? []).every((i) => i.ready);

const waitFor = (what: string, ok: (c: PostgresCluster) => boolean, timeoutMs: number) =>
  waitForCluster(cluster, what, ok, { timeoutMs, operatorLog: () => env.operatorLog() });

const secret = async (name: string, key: string) => Buffer.from((await core().readNamespacedSecret({ namespace: ns, name })).data?.[key] ?? '', 'base64').toString('utf8');
const pod = (name: string) => core().readNamespacedPod({ namespace: ns, name }).then((p) => p, () => undefined);
const clusterPods = async () => (await core().listNamespacedPod({ namespace: ns, labelSelector: `postgres.keiailab.io/cluster=${NAME}` })).items.map((p) => p.metadata?.name ?? '').sort();
const podReady = async (name: string) => (await pod(name))?.status?.conditions?.find((c) => c.type === 'Ready')?.status;

/** The superuser on one instance by its Pod IP, verify-full against the cluster CA by the "any instance" name. */
const superuser = (instance: string): Promise<pg.ClientConfig> => instanceSql(() => env, ns).superuserConfig(NAME, instance);

/** The Pods a Service selects (no endpoints controller runs here: its selector is what routes). */
async function selected(service: string): Promise<string[]> {
  const svc = await core().readNamespacedService({ namespace: ns, name: service });
  const selector = Object.entries(svc.spec?.selector ?? {}).map(([k, v]) => `${k}=${v}`).join(',');
  const pods = await core().listNamespacedPod({ namespace: ns, labelSelector: selector });
  return pods.items.filter((p) => !p.metadata?.deletionTimestamp).map((p) => p.metadata?.name ?? '').sort();
}

/** What a TCP connection to an address gets: accepted, or the error code (ECONNREFUSED when nothing listens). */
const dial = (host: string, port: number) => new Promise<string>((resolve) => {
  const s = createConnection({ host, port, timeout: 3000 });
  s.once('connect', () => { s.destroy(); resolve('connected'); });
  s.once('timeout', () => { s.destroy(); resolve('timeout'); });
  s.once('error', (e: NodeJS.ErrnoException) => resolve(e.code ?? e.message));
});

const count = async (instance: string, table: string) =>
  (await query<{ n: string }>(await superuser(instance), `SELECT count(*) AS n FROM ${table}`))[0]?.n;
const walReceiver = async (instance: string) =>
  (await query<{ status: string }>(await superuser(instance), 'SELECT status FROM pg_stat_wal_receiver').catch(() => []))[0]?.status ?? 'none';

test('a 3-instance cluster comes up and holds rows on every instance', async () => {
  await env.apply({ apiVersion: 'postgres.keiailab.io/v1alpha1', kind: 'PostgresCluster', metadata: { name: NAME, namespace: ns }, spec: { instances: 3, postgresVersion: 15 } });
  const c = await waitFor('Ready with 3 instances', allReady, 400_000);
  const primary = primaryOf(c);
  await query(await superuser(primary), 'CREATE TABLE nap_rows (id int PRIMARY KEY)');
  await query(await superuser(primary), 'INSERT INTO nap_rows SELECT generate_series(1, 1000)');
  for (const r of INSTANCES.filter((n) => n !== primary)) await eventually(() => count(r, 'nap_rows').catch(() => '0'), (n) => n === '1000', 60_000);
});

test('kubectl pgop hibernate on: every Pod deleted, PVCs, Secrets and Services kept, phase Hibernated; off: the same primary, every row, replicas streaming', async () => {
  const before = await waitFor('Ready', allReady, 60_000);
  const primary = primaryOf(before);
  const timeline = instanceOf(before, primary)?.timeline;
  const failovers = (before.status?.failovers ?? []).length;
  assert.match(await plugin(['hibernate', NAME, 'on']), /hibernation on requested/);
  const asleep = await waitFor('Hibernated', (c) => c.status?.phase === 'Hibernated', 300_000);
  assert.deepEqual(await clusterPods(), [], 'no Pod of the cluster is left');
  const pvcs = (await core().listNamespacedPersistentVolumeClaim({ namespace: ns, labelSelector: `postgres.keiailab.io/cluster=${NAME}` })).items;
  assert.equal(pvcs.filter((p) => !p.metadata?.deletionTimestamp).length, 3, 'every volume is kept');
  for (const s of ['superuser', 'app', 'replication']) assert.ok(await secret(`${NAME}-${s}`, 'password'), `Secret ${NAME}-${s} kept`);
  for (const s of ['rw', 'ro', 'r']) await core().readNamespacedService({ namespace: ns, name: `${NAME}-${s}` });
  assert.equal(asleep.status?.conditions?.find((x) => x.type === 'Hibernated')?.status, 'True');
  // Still asleep a while later: nothing recreates the Pods, and no failover starts for the stopped primary.
  await sleep(8000);
  assert.deepEqual(await clusterPods(), []);
  assert.equal((await cluster())?.status?.phase, 'Hibernated');

  assert.match(await plugin(['hibernate', NAME, 'off']), /hibernation off requested/);
  const awake = await waitFor('Ready again with 3 instances', allReady, 400_000);
  assert.equal(primaryOf(awake), primary, 'the same primary woke up');
  assert.equal((awake.status?.failovers ?? []).length, failovers, `no failover ran around the hibernation: ${JSON.stringify(awake.status?.failovers)}`);
  assert.equal(instanceOf(awake, primary)?.timeline, timeline, 'same timeline: the history did not fork');
  assert.equal(await count(primary, 'nap_rows'), '1000');
  await query(await superuser(primary), 'INSERT INTO nap_rows SELECT generate_series(1001, 1100)');
  for (const r of INSTANCES.filter((n) => n !== primary)) {
    await eventually(() => walReceiver(r), (s) => s === 'streaming', 60_000);
    await eventually(() => count(r, 'nap_rows').catch(() => '0'), (n) => n === '1100', 60_000);
  }
});

test('kubectl pgop fence: postgres stops, the Pod and agent stay (not Ready, out of -ro); a forced failover skips it; unfence: streaming again', async () => {
  const before = await waitFor('Ready', allReady, 120_000);
  const primary = primaryOf(before);
  const [fenced, other] = INSTANCES.filter((n) => n !== primary) as [string, string];
  const uid = (await pod(fenced))?.metadata?.uid;
  const ip = env.kubelet.podIP(ns, fenced) ?? '';
  assert.match(await plugin(['fence', NAME, fenced]), new RegExp(`fenced instances of ${NAME}: ${fenced}`));

  await eventually(() => dial(ip, 5432), (r) => r === 'ECONNREFUSED', 90_000);
  const c = await waitFor('the fenced instance reported not ready', (x) => instanceOf(x, fenced)?.ready === false
    && x.status?.conditions?.find((k) => k.type === 'Fenced')?.status === 'True', 60_000);
  assert.match(c.status?.conditions?.find((k) => k.type === 'Fenced')?.message ?? '', new RegExp(`fenced: ${fenced}`));
  const kept = await pod(fenced);
  assert.equal(kept?.metadata?.uid, uid, 'the fenced Pod is the same Pod');
  assert.ok(kept?.status?.containerStatuses?.every((s) => s.state?.running), 'its agent keeps running');
  await eventually(() => podReady(fenced), (s) => s === 'False', 30_000);
  await eventually(() => selected(`${NAME}-ro`), (p) => p.join() === other, 30_000);
  assert.ok(!(await selected(`${NAME}-rw`)).includes(fenced));
  // The agent still answers (its API stays), but says not ready.
  assert.equal((await fetch(`http://${ip}:8000/readyz`).then((r) => r.status, (e: Error) => e.message)), 503);
  // Still down a while later: nothing starts it again behind the fence.
  await sleep(6000);
  assert.equal(await dial(ip, 5432), 'ECONNREFUSED');

  // The primary's Pod goes: the failover must choose the other replica, never the fenced one. A Pod that is back
  // before its lease expires (5 s) keeps the primary role, by design (the agent does not give the lease up on a stop,
  // or hibernation's deletions could promote a replica); seen under load, so the Pod is deleted again then.
  await query(await superuser(primary), 'INSERT INTO nap_rows SELECT generate_series(1101, 1200)');
  await eventually(() => count(other, 'nap_rows').catch(() => '0'), (n) => n === '1200', 60_000);
  const failedOver = (x: PostgresCluster) => primaryOf(x) !== primary && !!primaryOf(x) && (x.status?.failovers ?? []).length > (before.status?.failovers ?? []).length;
  let moved: PostgresCluster | undefined;
  for (let attempt = 1; !moved; attempt++) {
    await core().deleteNamespacedPod({ namespace: ns, name: primary });
    const gone = await waitFor('the old primary seen gone, or a failover', (x) => failedOver(x) || instanceOf(x, primary)?.phase !== 'running', 60_000);
    const back = failedOver(gone) ? gone : await waitFor('a promoted replica, or the old primary back within its lease',
      (x) => failedOver(x) || (primaryOf(x) === primary && instanceOf(x, primary)?.phase === 'running' && instanceOf(x, primary)?.ready === true), 180_000);
    if (failedOver(back)) moved = back;
    else assert.ok(attempt < 3, 'the old primary came back within its lease three times in a row');
  }
  assert.equal(primaryOf(moved), other, 'the unfenced replica was promoted');
  assert.equal((moved.status?.failovers ?? []).at(-1)?.outcome, 'promoted');
  assert.equal(await dial(ip, 5432), 'ECONNREFUSED', 'the fenced instance stayed down through the failover');
  await query(await superuser(other), 'INSERT INTO nap_rows SELECT generate_series(1201, 1300)');

  assert.match(await plugin(['unfence', NAME, fenced]), new RegExp(`no instance of ${NAME} is fenced`));
  const healed = await waitFor('all 3 Ready, the fenced instance back as a replica', (x) => allReady(x) && instanceOf(x, fenced)?.role === 'replica', 300_000);
  assert.equal(primaryOf(healed), other);
  assert.equal((await pod(fenced))?.metadata?.uid, uid, 'unfenced in place: the same Pod');
  await eventually(() => walReceiver(fenced), (s) => s === 'streaming', 60_000);
  await eventually(() => count(fenced, 'nap_rows').catch(() => '0'), (n) => n === '1300', 60_000);
  await eventually(() => selected(`${NAME}-ro`), (p) => p.includes(fenced), 30_000);
  assert.notEqual(healed.status?.conditions?.find((k) => k.type === 'Fenced')?.status, 'True', 'no instance is reported fenced');
});
