// pgop as a Kubernetes operator, end to end on a real kube-apiserver: `kubectl apply` of the sample yields a
// Ready 3-instance cluster (real postgres processes run by the process kubelet), a deleted primary Pod fails over
// and the -rw Service's selector follows, a standby operator takes over from a killed leader, and deleting the
// cluster removes what it owns while the retention policy keeps the volumes. The operator runs under the chart's
// ServiceAccount token with the chart's RBAC (watchNamespace set), as it would in a Pod.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, execFile, type ChildProcess } from 'node:child_process';
import { appendFileSync, mkdtempSync, openSync, closeSync, readFileSync, rmSync, chmodSync, readdirSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CoordinationV1Api, CoreV1Api, CustomObjectsApi, type KubeConfig } from '@kubernetes/client-node';
import { startControlPlane, kubectlBin, type ControlPlane } from './harness/control-plane.js';
import { startProcessKubelet, type ProcessKubelet } from './harness/process-kubelet.js';
import { helmBin, renderChart } from './harness/helm.js';
import { applyChartRbac, serviceAccountKubeconfigFile } from './harness/chart-identity.js';
import { loadKubeConfig } from '../../adapters/k8s/client.js';
import { pgopCommand } from '../../adapters/local/self.js';
import { startRedis, stopRedis } from '../../adapters/local/redis-server.js';
import { StateDir } from '../../adapters/local/state-dir.js';
import { LABEL } from '../../adapters/k8s/specs/labels.js';
import type { PostgresCluster } from '../../crds/postgrescluster.js';
import { repoRoot, pgopBin } from '../helpers/cli.js';
import { query, eventually } from '../helpers/sql.js';

let cp: ControlPlane;
let kubelet: ProcessKubelet;
let kc: KubeConfig;
let redis: { url: string; pid: number };
const work = mkdtempSync(join(tmpdir(), 'pgop-k8s-e2e-'));
// The postgres OS user must reach the volumes under it, as it would reach a mounted volume.
chmodSync(work, 0o755);
const operators: ChildProcess[] = [];
let operatorKubeconfig = '';
// Never spawnSync here: the process kubelet lives in this process and must keep running while kubectl waits.
const kubectl = (args: string[]) => new Promise<{ status: number; stdout: string; stderr: string }>((resolve) => {
  execFile(kubectlBin, ['--kubeconfig', cp.kubeconfig, ...args], { encoding: 'utf8', timeout: 300_000 }, (err, stdout, stderr) => {
    resolve({ status: err ? (typeof err.code === 'number' ? err.code : 1) : 0, stdout, stderr });
  });
});
const ns = 'default';

function startOperator(name: string): ChildProcess {
  const log = openSync(join(work, `${name}.log`), 'a');
  const child = spawn(process.execPath, [pgopBin, 'operator', '--platform', 'kubernetes', '--kubeconfig', operatorKubeconfig, '--namespace', ns, '--watch-namespace', ns, '--metrics-port', '0'], {
    env: { ...process.env, REDIS_URL: redis.url, POD_NAME: name, PGOP_LEADER_LEASE_SECONDS: '4' }, stdio: ['ignore', log, log],
  });
  closeSync(log);
  operators.push(child);
  return child;
}

const operatorLogs = () => ['operator-a', 'operator-b'].map((n) => { try { return `--- ${n}\n${readFileSync(join(work, `${n}.log`), 'utf8').split('\n').slice(-30).join('\n')}`; } catch { return ''; } }).join('\n');

async function cluster(): Promise<PostgresCluster | undefined> {
  const co = kc.makeApiClient(CustomObjectsApi);
  return co.getNamespacedCustomObject({ group: 'postgres.keiailab.io', version: 'v1alpha1', namespace: ns, plural: 'postgresclusters', name: 'demo' })
    .then((o) => o as PostgresCluster, () => undefined);
}

async function waitFor(what: string, ok: (c: PostgresCluster) => boolean, timeoutMs = 180_000): Promise<PostgresCluster> {
  const until = Date.now() + timeoutMs;
  let last: PostgresCluster | undefined;
  while (Date.now() < until) {
    last = await cluster();
    if (last && ok(last)) return last;
    await new Promise((r) => setTimeout(r, 500));
  }
  const s = last?.status;
  throw new Error(`timed out waiting for ${what}; status: ${JSON.stringify({ phase: s?.phase, reason: s?.phaseReason, primary: s?.currentPrimary, instances: s?.instances })}\n${operatorLogs()}`);
}

const allReady = (n: number) => (c: PostgresCluster) => c.status?.phase === 'Ready' && (c.status.instances ?? []).length === n && (c.status.instances ?? []).every((i) => i.ready);

async function superuserUri(instance: string): Promise<string> {
  const core = kc.makeApiClient(CoreV1Api);
  const secret = await core.readNamespacedSecret({ namespace: ns, name: 'demo-superuser' });
  const password = Buffer.from(secret.data?.password ?? '', 'base64').toString('utf8');
  const ip = kubelet.podIP(ns, instance);
  assert.ok(ip, `${instance} has a pod IP`);
  return `postgresql://postgres:${encodeURIComponent(password)}@${ip}:5432/postgres?sslmode=disable`;
}

/** The pods a Service's selector matches (no endpoints controller runs here; the selector is what matters). */
async function selected(service: string): Promise<string[]> {
  const core = kc.makeApiClient(CoreV1Api);
  const svc = await core.readNamespacedService({ namespace: ns, name: service });
  const selector = Object.entries(svc.spec?.selector ?? {}).map(([k, v]) => `${k}=${v}`).join(',');
  const pods = await core.listNamespacedPod({ namespace: ns, labelSelector: selector });
  return pods.items.filter((p) => !p.metadata?.deletionTimestamp).map((p) => p.metadata?.name ?? '').sort();
}

before(async () => {
  cp = await startControlPlane();
  kc = loadKubeConfig(cp.kubeconfig);
  assert.equal((await kubectl(['apply', '--server-side', '-f', join(repoRoot, 'chart', 'crds')])).status, 0);
  assert.equal((await kubectl(['wait', '--for=condition=Established', '--timeout=60s', 'crd', '--all'])).status, 0);
  redis = await startRedis(new StateDir(join(work, 'redis-state')));
  await applyChartRbac(cp.kubeconfig, renderChart(helmBin(), 'pgop', ns, ['--set', `watchNamespace=${ns}`]).objects, work);
  operatorKubeconfig = await serviceAccountKubeconfigFile(kc, ns, 'pgop', join(work, 'operator.kubeconfig'));
  kubelet = await startProcessKubelet({
    kubeconfig: cp.kubeconfig, root: join(work, 'kubelet'), pgopCommand: (args) => pgopCommand(args),
    log: (line) => appendFileSync(join(work, 'kubelet.log'), `${new Date().toISOString()} ${line}\n`),
  });
  startOperator('operator-a');
}, { timeout: 60 * 60_000 });

after(async () => {
  for (const o of operators) if (o.exitCode === null) o.kill('SIGKILL');
  await kubelet?.stop();
  await stopRedis(redis?.pid);
  await cp?.stop();
  if (process.env.PGOP_TEST_KEEP_STATE !== '1') rmSync(work, { recursive: true, force: true });
});

test('kubectl apply of the sample yields a Ready 3-instance cluster of real postgres processes', async () => {
  const r = await kubectl(['apply', '-f', join(repoRoot, 'crds', 'samples', 'postgrescluster-ha.yaml')]);
  assert.equal(r.status, 0, r.stderr);
  const c = await waitFor('Ready with 3 instances', allReady(3), 300_000);
  const primary = c.status?.currentPrimary ?? '';
  assert.ok(primary, 'a primary is named');
  const table = (await kubectl(['get', 'pgc'])).stdout;
  assert.match(table.split('\n')[0] ?? '', /^NAME\s+INSTANCES\s+READY\s+PHASE\s+PRIMARY/);
  assert.match(table, new RegExp(`^demo\\s+3\\s+3\\s+Ready\\s+${primary}`, 'm'));
  // Owned objects exist, with the cluster as their controller.
  for (const [kind, name] of [['service', 'demo-rw'], ['service', 'demo-ro'], ['service', 'demo-r'], ['secret', 'demo-superuser'], ['secret', 'demo-app'], ['configmap', 'demo-pgop'],
    ['pdb', 'demo-primary'], ['networkpolicy', 'demo'], ['serviceaccount', 'demo-instance'], ['role', 'demo-instance'], ['rolebinding', 'demo-instance']] as const) {
    const o = await kubectl(['get', kind, name, '-o', 'json']);
    assert.equal(o.status, 0, `${kind}/${name}: ${o.stderr}`);
    assert.equal((JSON.parse(o.stdout) as { metadata: { ownerReferences?: { name: string }[] } }).metadata.ownerReferences?.[0]?.name, 'demo', `${kind}/${name} is owned by the cluster`);
  }
  // Agents label their Pods as their role settles; the selectors must converge on the right Pods.
  await eventually(() => selected('demo-rw'), (pods) => pods.join() === primary, 30_000);
  const replicas = ['demo-1', 'demo-2', 'demo-3'].filter((n) => n !== primary);
  await eventually(() => selected('demo-ro'), (pods) => pods.join() === replicas.join(), 30_000);
  // Rows written on the primary reach both replicas.
  const su = await superuserUri(primary);
  await query(su, 'CREATE TABLE k8s_rows (id int PRIMARY KEY)');
  await query(su, 'INSERT INTO k8s_rows SELECT generate_series(1, 1000)');
  for (const replica of ['demo-1', 'demo-2', 'demo-3'].filter((n) => n !== primary)) {
    await eventually(async () => query<{ n: string }>(await superuserUri(replica), 'SELECT count(*) AS n FROM k8s_rows').catch(() => [{ n: '0' }]), (rows) => rows[0]?.n === '1000', 30_000);
  }
});

test("the agents' API needs the token Secret the operator generated, which the Pod spec only references", async () => {
  const core = kc.makeApiClient(CoreV1Api);
  const secret = await core.readNamespacedSecret({ namespace: ns, name: 'demo-agent-token' });
  assert.equal(secret.metadata?.ownerReferences?.[0]?.name, 'demo');
  const token = Buffer.from(secret.data?.token ?? '', 'base64').toString('utf8');
  assert.ok(token.length >= 40, 'a random token');
  const pod = await core.readNamespacedPod({ namespace: ns, name: 'demo-1' });
  assert.ok(!JSON.stringify(pod).includes(token), 'the token is not in the Pod object');
  const env = pod.spec?.containers[0]?.env?.find((e) => e.name === 'PGOP_AGENT_TOKEN');
  assert.deepEqual({ ...env?.valueFrom?.secretKeyRef }, { name: 'demo-agent-token', key: 'token' });
  const ip = kubelet.podIP(ns, 'demo-1');
  assert.equal((await fetch(`http://${ip}:8000/status`)).status, 401);
  assert.equal((await fetch(`http://${ip}:8000/status`, { headers: { authorization: 'Bearer wrong' } })).status, 401);
  assert.equal((await fetch(`http://${ip}:8000/status`, { headers: { authorization: `Bearer ${token}` } })).status, 200);
  assert.equal((await fetch(`http://${ip}:8000/readyz`)).status, 200, 'the kubelet probe needs no token');
  assert.ok(!(await (await fetch(`http://${ip}:8000/metrics`)).text()).includes(token));
  const cm = await core.readNamespacedConfigMap({ namespace: ns, name: 'demo-timelines' });
  assert.deepEqual(cm.data ?? {}, {}, 'no promotion yet: no timeline history');
});

test('deleting the primary Pod fails over and the -rw Service selector follows the new primary', async () => {
  const before = await waitFor('Ready', allReady(3));
  const oldPrimary = before.status?.currentPrimary ?? '';
  const r = await kubectl(['delete', 'pod', oldPrimary, '--wait=false']);
  assert.equal(r.status, 0, r.stderr);
  // The new primary is named as soon as it is promoted; the plan's record follows when the plan ends.
  const moved = await waitFor('a new primary and the finished plan', (c) => !!c.status?.currentPrimary && c.status.currentPrimary !== oldPrimary && (c.status.failovers ?? []).length > 0, 120_000);
  const newPrimary = moved.status?.currentPrimary ?? '';
  await eventually(() => selected('demo-rw'), (pods) => pods.length === 1 && pods[0] === newPrimary, 60_000);
  const plan = (moved.status?.failovers ?? []).at(-1);
  assert.equal(plan?.kind, 'failover');
  assert.equal(plan?.outcome, 'promoted');
  // The promoted agent stored its timeline history in the cluster's own ConfigMap (not on the Lease).
  const timelines = await kc.makeApiClient(CoreV1Api).readNamespacedConfigMap({ namespace: ns, name: 'demo-timelines' });
  assert.deepEqual(Object.keys(timelines.data ?? {}), [String(plan?.timeline)]);
  // The lost Pod is recreated from its PVC and rejoins as a replica; no row is lost.
  const done = await waitFor('Ready again with the old primary back as a replica', allReady(3), 240_000);
  assert.equal(done.status?.currentPrimary, newPrimary);
  const rows = await query<{ n: string }>(await superuserUri(newPrimary), 'SELECT count(*) AS n FROM k8s_rows');
  assert.equal(rows[0]?.n, '1000');
  await eventually(() => selected('demo-ro'), (pods) => pods.includes(oldPrimary), 30_000);
  assert.deepEqual(await selected('demo-rw'), [newPrimary], 'the old primary is not selected by -rw');
});

test('a standby operator takes over when the leader is killed', async () => {
  const coord = kc.makeApiClient(CoordinationV1Api);
  const holder = async () => (await coord.readNamespacedLease({ namespace: ns, name: 'pgop-operator' })).spec?.holderIdentity ?? '';
  assert.match(await holder(), /^operator-a-/);
  startOperator('operator-b');
  await new Promise((r) => setTimeout(r, 2000));
  operators[0]?.kill('SIGKILL');
  await eventually(holder, (h) => h.startsWith('operator-b-'), 60_000);
  // The new leader acts: a scale-down is carried out.
  const r = await kubectl(['patch', 'pgc', 'demo', '--type', 'merge', '-p', '{"spec":{"instances":2}}']);
  assert.equal(r.status, 0, r.stderr);
  const c = await waitFor('2 instances after the scale-down', allReady(2), 180_000);
  assert.equal(c.status?.instances?.length, 2);
});

test('deleting the cluster removes what it owns and keeps the PVCs when retainOnDelete is set', async () => {
  assert.equal((await kubectl(['patch', 'pgc', 'demo', '--type', 'merge', '-p', '{"spec":{"storage":{"retainOnDelete":true}}}'])).status, 0);
  await waitFor('the change observed', (c) => c.status?.observedGeneration === c.metadata.generation);
  const pvcsBefore = (await kubectl(['get', 'pvc', '-l', `${LABEL.cluster}=demo`, '-o', 'name'])).stdout.trim().split('\n').filter(Boolean).sort();
  assert.equal(pvcsBefore.length, 2);
  const r = await kubectl(['delete', 'pgc', 'demo', '--timeout=180s']);
  assert.equal(r.status, 0, `${r.stderr}\n${operatorLogs()}`);
  for (const kind of ['pod', 'service', 'configmap', 'pdb', 'networkpolicy', 'serviceaccount', 'role', 'rolebinding']) {
    await eventually(async () => (await kubectl(['get', kind, '-l', `${LABEL.cluster}=demo`, '-o', 'name'])).stdout.trim(), (out) => out === '', 60_000);
  }
  const pvcsAfter = (await kubectl(['get', 'pvc', '-l', `${LABEL.cluster}=demo`, '-o', 'name'])).stdout.trim().split('\n').filter(Boolean).sort();
  assert.deepEqual(pvcsAfter, pvcsBefore, 'the volumes are kept');
  // Timelines and the agent token go even when data is retained: a recreated cluster starts with neither.
  for (const [kind, name] of [['configmap', 'demo-timelines'], ['secret', 'demo-agent-token']] as const) {
    assert.match((await kubectl(['get', kind, name])).stderr, /NotFound/, `${kind}/${name} is deleted with the cluster`);
  }
});

test('the agents did all of it with their own ServiceAccount: the Role the operator grants is enough', () => {
  const podsDir = join(work, 'kubelet', 'pods', ns);
  const logs = readdirSync(podsDir).map((pod) => ({ pod, text: readFileSync(join(podsDir, pod, 'container.log'), 'utf8') }));
  assert.ok(logs.length >= 3 && logs.every((l) => existsSync(join(podsDir, l.pod, 'kubeconfig'))), 'each agent ran with a ServiceAccount token');
  for (const l of logs) assert.doesNotMatch(l.text, /forbidden/, `${l.pod}'s agent was refused something by RBAC`);
});

test('the operator did all of it under the chart\'s ServiceAccount: its namespaced Role is enough', () => {
  const config = JSON.parse(readFileSync(operatorKubeconfig, 'utf8')) as { users: { name: string; user: { token?: string; 'client-certificate-data'?: string } }[] };
  assert.ok(config.users.length === 1 && config.users[0]?.user.token && !config.users[0].user['client-certificate-data'], 'the operator ran with a ServiceAccount token only');
  for (const name of ['operator-a', 'operator-b']) assert.doesNotMatch(readFileSync(join(work, `${name}.log`), 'utf8'), /forbidden/i, `${name} was refused something by RBAC`);
});
