// The primary's whole node frozen on Kubernetes (a stalled VM): every process of its Pod stops, its kubelet goes
// silent and the node is marked Ready=Unknown, so nothing can prove the old primary dead nor ask it anything. A
// short freeze must not fail over. A long one fails over without waiting on the frozen Pod: the platform fences it
// (its role label goes, so the -rw Service stops selecting it, then the Pod is deleted with a zero grace period,
// recorded in the plan), no acknowledged row is lost with dataDurability: required, the old primary never
// acknowledges a write once another did, and its Pod is created again on the thawed node and rejoins as a replica.
// Real kube-apiserver, real postgres processes run by the process kubelet on three nodes, the operator under the
// chart's ServiceAccount (reading a Node is part of its RBAC).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { CoordinationV1Api, CoreV1Api } from '@kubernetes/client-node';
import pg from 'pg';
import { startK8sEnv, type K8sEnv } from './harness/k8s-env.js';
import { eventually, query } from '../helpers/sql.js';
import { RowWriter, missingAcked } from '../helpers/writer.js';
import type { PostgresCluster } from '../../crds/postgrescluster.js';
import { waitForCluster } from './harness/wait-cluster.js';
import { instanceSql } from './harness/instance-sql.js';

const ns = 'default';
const NAME = 'durable';
const NODES = ['node-a', 'node-b', 'node-c'];
let env: K8sEnv;

// A node silent for 2 s is unreachable here (kcm's --node-monitor-grace-period, 40 s by default): well within the
// primary lease's 5 s, so the fencing step meets the node already marked.
before(async () => {
  env = await startK8sEnv('freeze', {}, { kubelet: { nodes: NODES, nodeGraceMs: 2000 }, chartIdentity: true });
}, { timeout: 60 * 60_000 });
after(async () => { await env?.stop(); });

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const core = () => env.kc.makeApiClient(CoreV1Api);
const cluster = async () => (await env.custom('postgresclusters', NAME)) as PostgresCluster | undefined;
const failovers = (c: PostgresCluster) => c.status?.failovers ?? [];
const primaryOf = (c: PostgresCluster) => c.status?.currentPrimary ?? '';
const allReady = (c: PostgresCluster) => c.status?.phase === 'Ready' && (c.status.instances ?? []).length === 3 && (c.status.instances ?? []).every((i) => i.ready);

const waitFor = (what: string, ok: (c: PostgresCluster) => boolean, timeoutMs: number) =>
  waitForCluster(cluster, what, ok, { timeoutMs, operatorLog: () => env.operatorLog() });

const secret = async (name: string, key: string) => Buffer.from((await core().readNamespacedSecret({ namespace: ns, name })).data?.[key] ?? '', 'base64').toString('utf8');
const pod = (name: string) => core().readNamespacedPod({ namespace: ns, name }).then((p) => p, () => undefined);

/** The superuser on one instance by its Pod IP, verify-full against the cluster CA by the "any instance" name. */
const superuser = (instance: string): Promise<pg.ClientConfig> => instanceSql(() => env, ns).superuserConfig(NAME, instance);

/** The Pods the -rw Service selects (no endpoints controller runs here: its selector is what routes). */
async function rwPods(): Promise<{ name: string; ip: string }[]> {
  const svc = await core().readNamespacedService({ namespace: ns, name: `${NAME}-rw` });
  const selector = Object.entries(svc.spec?.selector ?? {}).map(([k, v]) => `${k}=${v}`).join(',');
  const pods = await core().listNamespacedPod({ namespace: ns, labelSelector: selector });
  return pods.items.filter((p) => !p.metadata?.deletionTimestamp && p.status?.podIP).map((p) => ({ name: p.metadata?.name ?? '', ip: p.status?.podIP ?? '' }));
}

/** A client of the -rw Service: each new connection goes to the Pod it selects then (TLS, as hostssl requires). */
function rwUri(): () => Promise<string> {
  let cached: { uri: string; at: number } | undefined;
  return async () => {
    if (cached && Date.now() - cached.at < 250) return cached.uri;
    const [target] = await rwPods();
    if (!target) throw new Error(`${NAME}-rw selects no Pod`);
    cached = { uri: `postgresql://postgres:${encodeURIComponent(await secret(`${NAME}-superuser`, 'password'))}@${target.ip}:5432/postgres?sslmode=no-verify`, at: Date.now() };
    return cached.uri;
  };
}

async function leaseHolder(): Promise<string> {
  const l = await env.kc.makeApiClient(CoordinationV1Api).readNamespacedLease({ namespace: ns, name: `${NAME}-primary` });
  return (l.spec?.holderIdentity ?? '').split('|')[0] ?? '';
}

/** A connection straight to one instance, opened before anything happens. */
async function directClient(instance: string): Promise<pg.Client> {
  const c = new pg.Client({ ...(await superuser(instance)), connectionTimeoutMillis: 5000 });
  c.on('error', () => undefined);
  await c.connect();
  return c;
}

const outcome = (p: Promise<unknown>, ms: number) =>
  Promise.race([p.then(() => 'answered' as const, () => 'failed' as const), sleep(ms).then(() => 'silent' as const)]);

/**
 * Freezes the node of `instance` for `seconds`, and longer while `holdUntil` has not settled (a loaded machine may
 * need longer to fail over than the freeze lasts; a thaw before it would just be a short freeze).
 */
async function freezeNodeOf(instance: string, seconds: number, holdUntil: Promise<unknown> = Promise.resolve()): Promise<{ node: string; stopped: number; thawed: Promise<void> }> {
  const node = env.kubelet.nodeOf(ns, instance) ?? '';
  assert.ok(NODES.includes(node), `${instance} runs on one of the nodes (${node})`);
  const stopped = env.kubelet.freezeNode(node);
  const thawed = Promise.all([sleep(seconds * 1000), holdUntil.catch(() => undefined)]).then(async () => { await env.kubelet.thawNode(node); });
  return { node, stopped, thawed };
}

const nodeReady = async (node: string) => (await core().readNode({ name: node })).status?.conditions?.find((c) => c.type === 'Ready')?.status;

test('a 3-instance cluster with required synchronous replication comes up, one instance per node', async () => {
  await env.apply({
    apiVersion: 'postgres.keiailab.io/v1alpha1', kind: 'PostgresCluster', metadata: { name: NAME, namespace: ns },
    spec: { instances: 3, postgresql: { synchronous: { method: 'any', number: 1, dataDurability: 'required' } } },
  });
  const c = await waitFor('Ready with 3 instances', allReady, 300_000);
  const nodes = (c.status?.instances ?? []).map((i) => env.kubelet.nodeOf(ns, i.name)).sort();
  assert.deepEqual(nodes, NODES, 'the process kubelet spread the Pods over its nodes');
  await eventually(rwPods, (p) => p.length === 1 && p[0]?.name === primaryOf(c), 60_000);
  assert.equal(await leaseHolder(), primaryOf(c));
});

test('a 2 s freeze of the primary\'s node stops every process of its Pod and causes no failover', async () => {
  const before = await waitFor('Ready', allReady, 60_000);
  const primary = primaryOf(before);
  const uid = (await pod(primary))?.metadata?.uid;
  const direct = await directClient(primary);
  try {
    assert.equal(await outcome(direct.query('SELECT 1'), 5000), 'answered');
    const freeze = await freezeNodeOf(primary, 2);
    assert.ok(freeze.stopped >= 3, `the agent, the postmaster and its children were stopped (${freeze.stopped})`);
    // The backend serving this connection is a descendant outside the Pod's process group: frozen too.
    const pending = direct.query('SELECT 1').then(() => 'answered' as const, () => 'failed' as const);
    assert.equal(await Promise.race([pending, sleep(1000).then(() => 'silent' as const)]), 'silent', 'a backend of the frozen Pod answered');
    await freeze.thawed;
    assert.equal(await pending, 'answered', 'the thawed backend answers the query it held');
    await eventually(() => nodeReady(freeze.node), (s) => s === 'True', 10_000);
  } finally {
    await direct.end().catch(() => undefined);
  }
  // Longer than the lease: a failover, if one were coming, would have started by now.
  await sleep(7000);
  const now = await waitFor('Ready again', allReady, 30_000);
  assert.equal(primaryOf(now), primary);
  assert.equal(failovers(now).length, failovers(before).length);
  assert.equal(await leaseHolder(), primary);
  assert.equal((await pod(primary))?.metadata?.uid, uid, 'the Pod was left alone');
});

test('a 10 s freeze of the primary\'s node under writes fails over with platform fencing (unlabel, then zero-grace delete), loses no acknowledged row, and the Pod comes back as a replica', async () => {
  const before = await waitFor('Ready', allReady, 60_000);
  const primary = primaryOf(before);
  const oldIp = env.kubelet.podIP(ns, primary) ?? '';
  const oldUid = (await pod(primary))?.metadata?.uid;
  const writer = new RowWriter(rwUri(), 'freeze_writes');
  await writer.prepare();
  writer.start();
  after(() => writer.stop());
  const direct = await directClient(primary);
  await direct.query('CREATE TABLE IF NOT EXISTS freeze_direct (id int PRIMARY KEY)');
  try {
    await eventually(async () => writer.acked.length, (n) => n > 20, 60_000);
    const promotedSeen = waitFor('a promoted replica', (x) => failovers(x).length > failovers(before).length && failovers(x).at(-1)?.outcome === 'promoted', 90_000);
    const freeze = await freezeNodeOf(primary, 10, promotedSeen);
    // Sent to the frozen primary directly: it sits in the socket, and must never be acknowledged.
    const late = direct.query('INSERT INTO freeze_direct VALUES (1)').then(() => 'answered' as const, () => 'failed' as const);
    // While the node is still frozen: the Pod is out of the -rw selection and gone from the API, a replica leads.
    const c = await promotedSeen;
    const promoted = primaryOf(c);
    assert.notEqual(promoted, primary);
    const record = failovers(c).at(-1);
    assert.equal(record?.from, primary);
    const fencing = record?.steps.find((s) => s.step === 'fencing');
    assert.match(fencing?.detail ?? '', new RegExp(`role label removed from Pod ${primary} \\(out of the -rw Service\\); platform fencing: Pod ${primary} deleted with grace period 0 \\(node ${freeze.node}: not Ready \\(Unknown\\)\\)`),
      `fencing step: ${JSON.stringify(fencing)}`);
    assert.ok(!(await rwPods()).some((p) => p.name === primary), 'the frozen Pod is not selected by -rw');
    await freeze.thawed;
    assert.notEqual(await Promise.race([late, sleep(30_000).then(() => 'silent' as const)]), 'answered', 'the old primary acknowledged a write after the failover');
    await eventually(async () => writer.ackAddresses.filter((a) => a !== oldIp).length, (n) => n > 20, 60_000);
    const report = await writer.stop();
    assert.deepEqual(await missingAcked(await rwUri()(), report.acked, 'freeze_writes'), []);
    const firstNew = writer.ackAddresses.findIndex((a) => a !== oldIp);
    assert.equal(writer.ackAddresses.slice(firstNew).filter((a) => a === oldIp).length, 0, 'the old primary acknowledged a write after the new one did');
    // Every instance on the new timeline, the old primary too: a replica that took WAL from the thawed old primary
    // after the fork would be stuck on the old one unless it was rewound.
    const healed = await waitFor('the old primary back as a replica, every instance on the new timeline', (x) =>
      allReady(x) && (x.status?.instances ?? []).some((i) => i.name === primary && i.role === 'replica')
      && (x.status?.instances ?? []).every((i) => i.timeline === record?.timeline), 180_000);
    assert.equal(primaryOf(healed), promoted);
    assert.deepEqual((healed.status?.instances ?? []).filter((i) => i.role === 'primary').map((i) => i.name), [promoted]);
    assert.equal(await leaseHolder(), promoted);
    const back = await pod(primary);
    assert.notEqual(back?.metadata?.uid, oldUid, 'the fenced Pod was deleted and created again');
    assert.equal(back?.spec?.nodeName, freeze.node, 'on the node holding its volume');
    assert.deepEqual((await rwPods()).map((p) => p.name), [promoted]);
    const [count] = await query<{ n: string }>(await superuser(promoted), 'SELECT count(*) AS n FROM freeze_direct');
    assert.equal(count?.n, '0', 'the write sent to the frozen primary exists nowhere');
  } finally {
    await direct.end().catch(() => undefined);
  }
});
