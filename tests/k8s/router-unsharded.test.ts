// An unsharded cluster's router on a real kube-apiserver (spec.router.enabled, ADR 0034): the operator makes the same
// Deployment of two `pgop router --kubernetes` pods and Service `<cluster>-router` as for a sharded cluster, with the
// cluster's primary as the router's one backend in the ConfigMap; a query through a router pod, over TLS verified
// against the cluster's CA, runs on the primary as the cluster's owner; after a switchover the ConfigMap names the
// new primary and the same router pods write there. spec.router.readOnly adds `<cluster>-router-ro`, whose pods spread
// their connections over the ready replicas only (ADR 0043). Turning the fields off removes the objects.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import pg from 'pg';
import { AppsV1Api, CoreV1Api } from '@kubernetes/client-node';
import { startK8sEnv, type K8sEnv } from './harness/k8s-env.js';
import { eventually } from '../helpers/sql.js';
import { SWITCHOVER_ANNOTATION } from '../../actors/bindings/postgrescluster.binding.js';

const ns = 'default';
const API = 'postgres.keiailab.io/v1alpha1';
let env: K8sEnv;

before(async () => { env = await startK8sEnv('router-unsharded', { PGOP_ROUTER_IMAGE: 'registry.example/pgop-router:test', PGOP_ROUTER_SYNC_MS: '1000' }); }, { timeout: 60 * 60_000 });
after(async () => { await env?.stop(); });

const core = () => env.kc.makeApiClient(CoreV1Api);
const secret = async (name: string, key: string) => Buffer.from((await core().readNamespacedSecret({ namespace: ns, name })).data?.[key] ?? '', 'base64').toString('utf8');
const podsOf = async (app: string) => (await core().listNamespacedPod({ namespace: ns, labelSelector: `postgres.keiailab.io/router=demo,app.kubernetes.io/name=${app}` })).items.filter((p) => !p.metadata?.deletionTimestamp);
const routerPods = () => podsOf('pgop-router');
const readOnlyPods = () => podsOf('pgop-router-ro');
const withLog = (e: unknown) => { throw new Error(`${(e as Error).message}\n${env.operatorLog()}`); };
const cluster = (router: boolean, size: { replicas?: number; poolSize?: number; readOnly?: boolean } = {}, instances = 2) => ({
  apiVersion: API, kind: 'PostgresCluster', metadata: { name: 'demo' },
  spec: { instances, storage: { size: '1Gi' }, router: { enabled: router, ...size } },
});

test('spec.router.enabled gives an unsharded cluster a router Deployment and Service; it reaches the primary over TLS', async () => {
  await env.apply(cluster(true));
  const c = await eventually(() => env.custom('postgresclusters', 'demo'),
    (x) => x?.status?.phase === 'Ready' && x.status.readyInstances === 2 && (x.status.router as { readyReplicas?: number } | undefined)?.readyReplicas === 2, 300_000).catch(withLog);
  assert.deepEqual(c?.status?.router, { endpoint: `demo-router.${ns}.svc:5432`, caSecret: 'demo-ca', replicas: 2, readyReplicas: 2, generation: 0 });
  const svc = await core().readNamespacedService({ namespace: ns, name: 'demo-router' });
  assert.deepEqual(svc.spec?.ports?.map((p) => p.port), [5432, 9128]);
  const cm = JSON.parse((await core().readNamespacedConfigMap({ namespace: ns, name: 'demo-router' })).data?.['router.json'] ?? '{}') as { shards: unknown[]; backend?: { host: string; servername?: string } };
  const primaryIp = env.kubelet.podIP(ns, String(c?.status?.currentPrimary ?? ''));
  assert.deepEqual([cm.shards, cm.backend?.host], [[], primaryIp], 'no routing table; the primary is the one backend');
  // Verified by a name every instance certificate carries from its first issue, not by a pod IP that joins it later.
  assert.equal(cm.backend?.servername, `demo-r.${ns}.svc`);
  const pods = await routerPods();
  assert.equal(pods.length, 2);
  for (const pod of pods) {
    const client = new pg.Client({ host: env.kubelet.podIP(ns, pod.metadata?.name ?? ''), port: 5432, user: 'app', password: await secret('demo-app', 'password'), database: 'app',
      ssl: { ca: await secret('demo-ca', 'ca.crt'), servername: `demo-router.${ns}.svc`, rejectUnauthorized: true }, connectionTimeoutMillis: 10_000 });
    await client.connect();
    try {
      const { rows: [row] } = await client.query<{ who: string; standby: boolean; addr: string }>('SELECT current_user AS who, pg_is_in_recovery() AS standby, host(inet_server_addr()) AS addr');
      assert.deepEqual(row, { who: 'app', standby: false, addr: primaryIp });
    } finally { await client.end(); }
  }
});

const routerClient = async (podName: string, service = 'demo-router') => {
  const client = new pg.Client({ host: env.kubelet.podIP(ns, podName), port: 5432, user: 'app', password: await secret('demo-app', 'password'), database: 'app',
    ssl: { ca: await secret('demo-ca', 'ca.crt'), servername: `${service}.${ns}.svc`, rejectUnauthorized: true }, connectionTimeoutMillis: 10_000 });
  client.on('error', () => undefined);
  await client.connect();
  return client;
};
const routerQuery = async (podName: string, sql: string, service = 'demo-router') => {
  const client = await routerClient(podName, service);
  try { return (await client.query<Record<string, unknown>>(sql)).rows; } finally { await client.end(); }
};

test('after a switchover the ConfigMap names the new primary and the router pods write there', async () => {
  const before = await env.custom('postgresclusters', 'demo');
  const from = String(before?.status?.currentPrimary ?? '');
  await routerQuery((await routerPods())[0]!.metadata!.name!, 'CREATE TABLE routed (id serial PRIMARY KEY, note text)');
  const r = await env.kubectl(['annotate', 'postgresclusters/demo', '--overwrite', `${SWITCHOVER_ANNOTATION}=${JSON.stringify({ id: 'r0034', to: null, at: new Date().toISOString() })}`]);
  assert.equal(r.status, 0, r.stderr);
  const after = await eventually(() => env.custom('postgresclusters', 'demo'),
    (x) => !!x?.status?.currentPrimary && x.status.currentPrimary !== from && x.status.phase === 'Ready', 300_000).catch(withLog);
  const newIp = env.kubelet.podIP(ns, String(after?.status?.currentPrimary ?? ''));
  await eventually(async () => (JSON.parse((await core().readNamespacedConfigMap({ namespace: ns, name: 'demo-router' })).data?.['router.json'] ?? '{}') as { backend?: { host: string } }).backend?.host,
    (host) => host === newIp, 60_000).catch(withLog);
  for (const pod of await routerPods()) {
    const [row] = await eventually(() => routerQuery(pod.metadata!.name!, "INSERT INTO routed (note) VALUES ('after') RETURNING host(inet_server_addr()) AS addr, pg_is_in_recovery() AS standby"),
      (rows) => rows.length === 1, 60_000);
    assert.deepEqual(row, { addr: newIp, standby: false });
  }
});

interface ReadOnlyStatus { endpoint: string; replicas: number; readyReplicas: number; backends: string[] }
const readOnlyOf = (x: { status?: Record<string, unknown> } | undefined) => (x?.status?.router as { readOnly?: ReadOnlyStatus } | undefined)?.readOnly;

test('spec.router.readOnly: <cluster>-router-ro pods spread concurrent transactions over both replicas, never the primary; writes get 25006', async () => {
  await env.apply(cluster(true, { readOnly: true }, 3));
  const c = await eventually(() => env.custom('postgresclusters', 'demo'), (x) => x?.status?.readyInstances === 3 && readOnlyOf(x)?.readyReplicas === 2
    && readOnlyOf(x)?.backends.length === 2, 400_000).catch(withLog);
  const primary = String(c?.status?.currentPrimary ?? '');
  const ro = readOnlyOf(c)!;
  assert.equal(ro.endpoint, `demo-router-ro.${ns}.svc:5432`);
  assert.ok(!ro.backends.includes(primary), `the primary is not a backend: ${ro.backends.join(', ')}`);
  const replicaIps = ro.backends.map((b) => env.kubelet.podIP(ns, b)).sort();
  const cm = JSON.parse((await core().readNamespacedConfigMap({ namespace: ns, name: 'demo-router-ro' })).data?.['router.json'] ?? '{}') as { replicas?: { targets: { host: string }[] } };
  assert.deepEqual(cm.replicas?.targets.map((t) => t.host).sort(), replicaIps);
  assert.equal((await routerPods()).length, 2, 'the read-write router is unchanged beside it');
  const [pod] = await readOnlyPods();
  assert.ok(pod?.metadata?.name);
  // The pods read the ConfigMap every 2 s: this one says on /metrics when it spreads over both replicas. Connections
  // opened before that would stay on the first one (a replica that joins gets only new connections).
  const ip = env.kubelet.podIP(ns, pod.metadata!.name!);
  await eventually(() => fetch(`http://${ip}:9128/metrics`).then((r) => r.text()).catch(() => ''), (t) => /^pgop_router_readonly_replicas 2$/m.test(t), 60_000).catch(withLog);
  // Six transactions at once need six backend connections, which the pod opens through its spreader. The sessions
  // log in first, then all six query together.
  const round = async () => {
    const clients = await Promise.all(Array.from({ length: 6 }, () => routerClient(pod.metadata!.name!, 'demo-router-ro')));
    try {
      return (await Promise.all(clients.map((c) => c.query<Record<string, unknown>>(
        'SELECT pg_is_in_recovery() AS standby, host(inet_server_addr()) AS addr, pg_sleep(1)::text AS slept')))).flatMap((r) => r.rows);
    } finally { await Promise.all(clients.map((c) => c.end().catch(() => undefined))); }
  };
  const seen = await round();
  assert.ok(seen.length === 6 && seen.every((r) => r.standby === true), JSON.stringify(seen));
  assert.deepEqual([...new Set(seen.map((r) => String(r.addr)))].sort(), replicaIps, 'both replicas serve');
  await assert.rejects(routerQuery(pod.metadata!.name!, 'CREATE TABLE written_on_ro (id int)', 'demo-router-ro'), (e: unknown) => (e as { code?: string }).code === '25006');
});

/** Waits for an object to be gone: the operator deletes a router's objects one after another (Deployment first). */
const absent = (read: () => Promise<unknown>) => eventually(async () => { try { await read(); return false; } catch { return true; } }, (gone) => gone, 60_000).catch(withLog);

test('spec.router.readOnly: false removes only the read-only router', async () => {
  await env.apply(cluster(true, {}, 3));
  await absent(() => env.kc.makeApiClient(AppsV1Api).readNamespacedDeployment({ namespace: ns, name: 'demo-router-ro' }));
  await absent(() => core().readNamespacedService({ namespace: ns, name: 'demo-router-ro' }));
  await core().readNamespacedService({ namespace: ns, name: 'demo-router' });
  const c = await eventually(() => env.custom('postgresclusters', 'demo'), (x) => !readOnlyOf(x), 30_000).catch(withLog);
  assert.equal((c?.status?.router as { readyReplicas?: number }).readyReplicas, 2);
});

test('spec.router.replicas and poolSize: three pods, each restarted with the new pool size; one replica is refused', async () => {
  await assert.rejects(env.apply(cluster(true, { replicas: 1 }, 3)), /spec\.router\.replicas.*(greater than or equal to 2|should be >= 2)/s);
  await env.apply(cluster(true, { replicas: 3, poolSize: 7 }, 3));
  const c = await eventually(() => env.custom('postgresclusters', 'demo'), (x) => (x?.status?.router as { readyReplicas?: number } | undefined)?.readyReplicas === 3, 300_000).catch(withLog);
  assert.equal((c?.status?.router as { replicas?: number }).replicas, 3);
  const cm = JSON.parse((await core().readNamespacedConfigMap({ namespace: ns, name: 'demo-router' })).data?.['router.json'] ?? '{}') as { pool?: { size: number } };
  assert.deepEqual(cm.pool, { size: 7 });
  const pods = await eventually(routerPods, (ps) => ps.length === 3 && ps.every((p) => p.metadata?.annotations?.['postgres.keiailab.io/router-pool-size'] === '7'), 120_000).catch(withLog);
  for (const pod of pods) {
    const [row] = await eventually(() => routerQuery(pod.metadata!.name!, 'SELECT pg_is_in_recovery() AS standby').catch(() => []), (rows) => rows.length === 1, 60_000);
    assert.deepEqual(row, { standby: false });
  }
});

test('spec.router.enabled: false removes the router objects', async () => {
  await env.apply(cluster(false, {}, 3));
  await absent(() => env.kc.makeApiClient(AppsV1Api).readNamespacedDeployment({ namespace: ns, name: 'demo-router' }));
  await absent(() => core().readNamespacedService({ namespace: ns, name: 'demo-router' }));
});
