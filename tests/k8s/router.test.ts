// A sharded cluster's router on a real kube-apiserver: the operator makes a Deployment of two `pgop router
// --kubernetes` pods (run by the process kubelet), the Service `<cluster>-router`, the ConfigMap holding the routing
// table from the ShardRanges, the pods' read-only identity and a NetworkPolicy, all owned by the sharded
// PostgresCluster. Rows written through either router pod, over TLS verified against the first shard's CA, land on
// the shard PostgreSQL's own hashint8extended names; a table added to the group reaches the running routers (no
// restart); a shard that loses its primary Pod fails over and the routers write to its new primary; deleting the
// cluster removes the router objects.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import pg from 'pg';
import { AppsV1Api, CoreV1Api, NetworkingV1Api, RbacAuthorizationV1Api, type V1Pod } from '@kubernetes/client-node';
import { startK8sEnv, type K8sEnv } from './harness/k8s-env.js';
import { eventually } from '../helpers/sql.js';
import { parseShardName } from '../../router/vindex/key-range.js';

const ns = 'default';
const API = 'postgres.keiailab.io/v1alpha1';
const IMAGE = 'registry.example/pgop-router:test';
const SHARDS = [['-80', 'shop-min-80'], ['80-', 'shop-80-max']] as const;
let env: K8sEnv;

before(async () => { env = await startK8sEnv('router', { PGOP_ROUTER_IMAGE: IMAGE, PGOP_ROUTER_SYNC_MS: '1000' }); }, { timeout: 60 * 60_000 });
after(async () => { await env?.stop(); });

const core = () => env.kc.makeApiClient(CoreV1Api);
const secret = async (name: string, key: string) => {
  const s = await core().readNamespacedSecret({ namespace: ns, name });
  return Buffer.from(s.data?.[key] ?? '', 'base64').toString('utf8');
};
const routerPods = async (): Promise<V1Pod[]> =>
  (await core().listNamespacedPod({ namespace: ns, labelSelector: 'postgres.keiailab.io/router=shop' })).items.filter((p) => !p.metadata?.deletionTimestamp);
const withLog = (e: unknown) => { throw new Error(`${(e as Error).message}\n${env.operatorLog()}`); };

const shardCluster = (tables: string[], instances = 1) => ({
  apiVersion: API, kind: 'PostgresCluster', metadata: { name: 'shop' },
  spec: { instances, storage: { size: '1Gi' }, sharding: { shards: 2, tableGroups: [{ name: 'orders', vindex: { type: 'hash', column: 'customer_id' }, tables }] } },
});

/** A shard's primary as the superuser, verified against that shard's CA by its -rw Service name. */
async function shardClient(cluster: string): Promise<pg.Client> {
  const c = await env.custom('postgresclusters', cluster);
  const ip = env.kubelet.podIP(ns, String(c?.status?.currentPrimary ?? '')) ?? '';
  const client = new pg.Client({ host: ip, port: 5432, user: 'postgres', password: await secret(`${cluster}-superuser`, 'password'), database: 'postgres',
    ssl: { ca: await secret(`${cluster}-ca`, 'ca.crt'), servername: `${cluster}-rw.${ns}.svc`, rejectUnauthorized: true }, connectionTimeoutMillis: 10_000 });
  await client.connect();
  return client;
}
async function onEveryShard(sql: string): Promise<void> {
  for (const [, cluster] of SHARDS) {
    const c = await shardClient(cluster);
    try { await c.query(sql); } finally { await c.end(); }
  }
}

/** Through one router pod as the PostgresUser `writer`, TLS verified against the first shard's CA by the Service name. */
async function viaRouter(pod: V1Pod, fn: (c: pg.Client) => Promise<void>): Promise<void> {
  const client = new pg.Client({ host: env.kubelet.podIP(ns, pod.metadata?.name ?? ''), port: 5432, user: 'writer', password: 'wr1ter-Pa55word', database: 'postgres',
    ssl: { ca: await secret('shop-min-80-ca', 'ca.crt'), servername: `shop-router.${ns}.svc`, rejectUnauthorized: true }, connectionTimeoutMillis: 10_000 });
  await client.connect();
  try { await fn(client); } finally { await client.end(); }
}

/** Rows of `table` with `note` on each shard, and how many of them lie outside the shard's key range by PostgreSQL's own hash. */
async function placement(table: string, note: string): Promise<Map<string, { total: number; outside: number }>> {
  const out = new Map<string, { total: number; outside: number }>();
  for (const [shard, cluster] of SHARDS) {
    const { start, end } = parseShardName(shard);
    const c = await shardClient(cluster);
    try {
      const { rows: [row] } = await c.query<{ total: string; outside: string }>(`
        SELECT count(*) AS total,
               count(*) FILTER (WHERE NOT ((lpad(to_hex(hashint8extended(customer_id, 0)), 16, '0') COLLATE "C" >= $1 OR $1 = '')
                                     AND (lpad(to_hex(hashint8extended(customer_id, 0)), 16, '0') COLLATE "C" < $2 OR $2 = ''))) AS outside
        FROM ${pg.escapeIdentifier(table)} WHERE note = $3`, [start, end, note]);
      out.set(shard, { total: Number(row?.total), outside: Number(row?.outside) });
    } finally { await c.end(); }
  }
  return out;
}

test('a sharded cluster gets a router Deployment of 2 ready pods and the Service <cluster>-router, owned by it', async () => {
  await env.apply(shardCluster(['orders', 'order_items']));
  const c = await eventually(() => env.custom('postgresclusters', 'shop'),
    (x) => x?.status?.phase === 'Ready' && x.status.shardsReady === '2/2' && (x.status.router as { readyReplicas?: number } | undefined)?.readyReplicas === 2, 300_000).catch(withLog);
  const uid = (c as { metadata: { uid?: string } } | undefined)?.metadata.uid;
  assert.deepEqual(c?.status?.router, { endpoint: `shop-router.${ns}.svc:5432`, caSecret: 'shop-min-80-ca', replicas: 2, readyReplicas: 2, generation: 1 });
  const cond = (c?.status?.conditions as { type: string; status: string }[] | undefined)?.find((x) => x.type === 'RouterReady');
  assert.equal(cond?.status, 'True');

  const dep = await env.kc.makeApiClient(AppsV1Api).readNamespacedDeployment({ namespace: ns, name: 'shop-router' });
  assert.equal(dep.spec?.replicas, 2);
  assert.equal(dep.status?.readyReplicas, 2);
  const pod = dep.spec?.template.spec;
  const ctr = pod?.containers[0];
  assert.equal(ctr?.image, IMAGE, 'the image the operator was configured with');
  assert.deepEqual(ctr?.args, ['router', '--kubernetes']);
  assert.equal(pod?.serviceAccountName, 'shop-router');
  assert.equal(pod?.securityContext?.runAsNonRoot, true);
  assert.equal(ctr?.securityContext?.readOnlyRootFilesystem, true);
  assert.deepEqual(ctr?.securityContext?.capabilities?.drop, ['ALL']);
  const svc = await core().readNamespacedService({ namespace: ns, name: 'shop-router' });
  assert.deepEqual(svc.spec?.ports?.map((p) => p.port), [5432, 9128]);
  const labels = dep.spec?.template.metadata?.labels ?? {};
  for (const [k, v] of Object.entries(svc.spec?.selector ?? {})) assert.equal(labels[k], v, `the Service selects the router pods by ${k}`);
  const cm = await core().readNamespacedConfigMap({ namespace: ns, name: 'shop-router' });
  const np = await env.kc.makeApiClient(NetworkingV1Api).readNamespacedNetworkPolicy({ namespace: ns, name: 'shop-router' });
  const role = await env.kc.makeApiClient(RbacAuthorizationV1Api).readNamespacedRole({ namespace: ns, name: 'shop-router' });
  for (const o of [dep, svc, cm, np, role]) {
    assert.deepEqual(o.metadata?.ownerReferences?.map((r) => [r.kind, r.name, r.uid, r.controller]), [['PostgresCluster', 'shop', uid, true]], `${o.kind ?? 'object'} is owned by the sharded cluster`);
  }
  assert.deepEqual(role.rules?.map((r) => [r.resources?.[0], r.verbs]), [['configmaps', ['get']], ['secrets', ['get']]], 'the router pods only read');
  const table = JSON.parse(cm.data?.['router.json'] ?? '{}') as { generation: number; shards: { name: string; host: string }[]; tables: Record<string, unknown> };
  assert.equal(table.generation, 1);
  assert.deepEqual(table.shards.map((s) => s.name), ['-80', '80-']);
  assert.deepEqual(Object.keys(table.tables).sort(), ['order_items', 'orders']);
  const password = await secret('shop-min-80-superuser', 'password');
  assert.ok(!JSON.stringify(cm.data).includes(password) && !JSON.stringify(dep).includes(password), 'no password in the ConfigMap or the Deployment');
  // Verifiers are looked up by the least-privilege role pgop_router (ADR 0039), its password in the router's own Secret.
  assert.deepEqual((JSON.parse(cm.data?.['router.json'] ?? '{}') as { auth: unknown }).auth,
    { user: 'pgop_router', database: 'postgres', password: { secret: 'shop-router-auth', key: 'password' } });
  const lookup = await secret('shop-router-auth', 'password');
  assert.ok(!JSON.stringify(cm.data).includes(lookup), 'nor the lookup role\'s');
  assert.equal((await routerPods()).length, 2);
});

test('rows written through either router pod over TLS land on the shard their keyspace id names', async () => {
  await env.apply(
    { apiVersion: 'v1', kind: 'Secret', metadata: { name: 'writer-login' }, type: 'kubernetes.io/basic-auth', stringData: { username: 'writer', password: 'wr1ter-Pa55word' } },
    { apiVersion: API, kind: 'PostgresUser', metadata: { name: 'shop-writer' }, spec: { cluster: { name: 'shop' }, name: 'writer', login: true, passwordSecret: { name: 'writer-login' } } },
  );
  await eventually(() => env.custom('postgresusers', 'shop-writer'),
    (u) => (u?.status?.applied === true || u?.status?.phase === 'Applied') && u.status.observedGeneration === u.metadata.generation, 180_000).catch(withLog);
  await onEveryShard('CREATE TABLE orders (customer_id bigint NOT NULL, note text); GRANT SELECT, INSERT ON orders TO writer');
  const pods = await routerPods();
  const keys = Array.from({ length: 40 }, (_, i) => BigInt(i * 104_729 - 2_000_000));
  for (const [i, pod] of pods.entries()) {
    await viaRouter(pod, async (c) => {
      for (const k of keys.filter((_, j) => j % pods.length === i)) await c.query('INSERT INTO orders (customer_id, note) VALUES ($1, \'via router\')', [k.toString()]);
      // The router's backends run as the client's own role, never a superuser.
      assert.deepEqual((await c.query('SELECT current_user AS u, rolsuper FROM pg_roles WHERE rolname = current_user')).rows, [{ u: 'writer', rolsuper: false }]);
    });
  }
  const first = await shardClient('shop-min-80');
  try {
    const r = await first.query("SELECT rolsuper, rolcreaterole, rolbypassrls FROM pg_roles WHERE rolname = 'pgop_router'");
    assert.deepEqual(r.rows, [{ rolsuper: false, rolcreaterole: false, rolbypassrls: false }], 'the operator made the lookup role, with no privilege beyond LOGIN');
  } finally { await first.end(); }
  const placed = await placement('orders', 'via router');
  for (const [shard, p] of placed) {
    assert.ok(p.total > 0, `${shard} got rows through the routers`);
    assert.equal(p.outside, 0, `every row the routers put on ${shard} lies in its key range`);
  }
  assert.equal([...placed.values()].reduce((n, p) => n + p.total, 0), keys.length, 'every row landed exactly once');
});

test('a table added to the group reaches the running routers: its rows land on their shards', async () => {
  const pods = await routerPods();
  const names = pods.map((p) => p.metadata?.name).sort();
  await onEveryShard('CREATE TABLE invoices (customer_id bigint NOT NULL, note text); GRANT SELECT, INSERT ON invoices TO writer');
  await env.apply(shardCluster(['orders', 'order_items', 'invoices']));
  await eventually(() => env.custom('shardranges', 'shop-orders'), (r) => r?.status?.version === 2, 60_000).catch(withLog);
  // Each pod reports the routing table generation it routes by.
  for (const p of pods) {
    const ip = env.kubelet.podIP(ns, p.metadata?.name ?? '');
    await eventually(() => fetch(`http://${ip}:9128/metrics`).then((r) => r.text()), (t) => /pgop_router_routing_generation 2/.test(t), 60_000);
  }
  const keys = Array.from({ length: 30 }, (_, i) => BigInt(i * 7919 - 100_000));
  for (const [i, pod] of pods.entries()) {
    await viaRouter(pod, async (c) => {
      for (const k of keys.filter((_, j) => j % pods.length === i)) await c.query('INSERT INTO invoices (customer_id, note) VALUES ($1, \'added\')', [k.toString()]);
    });
  }
  const placed = await placement('invoices', 'added');
  for (const [shard, p] of placed) {
    assert.ok(p.total > 0, `${shard} got invoices`);
    assert.equal(p.outside, 0, `every invoice on ${shard} lies in its key range`);
  }
  assert.deepEqual((await routerPods()).map((p) => p.metadata?.name).sort(), names, 'reloaded in place: the same pods');
  const c = await eventually(() => env.custom('postgresclusters', 'shop'), (x) => (x?.status?.router as { generation?: number } | undefined)?.generation === 2, 30_000);
  assert.equal((c?.status?.router as { readyReplicas?: number }).readyReplicas, 2);
});

test('a shard loses its primary Pod: it fails over, the routers follow, and the shard\'s rows are all there', async () => {
  await env.apply(shardCluster(['orders', 'order_items', 'invoices'], 2));
  const ready = (x: Awaited<ReturnType<typeof env.custom>>) => x?.status?.phase === 'Ready' && x.status.readyInstances === 2;
  for (const [, cluster] of SHARDS) await eventually(() => env.custom('postgresclusters', cluster), ready, 300_000).catch(withLog);
  const [shard, cluster] = SHARDS[0];
  const before = await env.custom('postgresclusters', cluster);
  const oldPrimary = String(before?.status?.currentPrimary ?? '');
  const rowsBefore = (await placement('orders', 'via router')).get(shard)?.total ?? 0;
  const r = await env.kubectl(['delete', 'pod', oldPrimary, '--wait=false']);
  assert.equal(r.status, 0, r.stderr);
  const moved = await eventually(() => env.custom('postgresclusters', cluster),
    (x) => !!x?.status?.currentPrimary && x.status.currentPrimary !== oldPrimary && ((x.status.failovers ?? []) as { kind: string; outcome: string }[]).some((f) => f.kind === 'failover' && f.outcome === 'promoted'), 180_000).catch(withLog);
  const newIp = env.kubelet.podIP(ns, String(moved?.status?.currentPrimary ?? ''));
  await eventually(async () => (JSON.parse((await core().readNamespacedConfigMap({ namespace: ns, name: 'shop-router' })).data?.['router.json'] ?? '{}') as { shards?: { name: string; host: string }[] })
    .shards?.find((x) => x.name === shard)?.host, (host) => host === newIp, 60_000).catch(withLog);
  // Keys of the failed-over shard only, written through every router pod once it reaches the new primary.
  const { start, end } = parseShardName(shard);
  const first = await shardClient(cluster);
  let keys: string[];
  try {
    keys = (await first.query<{ k: string }>(`SELECT k::text FROM generate_series(1, 400) k
      WHERE (lpad(to_hex(hashint8extended(k, 0)), 16, '0') COLLATE "C" >= $1 OR $1 = '') AND (lpad(to_hex(hashint8extended(k, 0)), 16, '0') COLLATE "C" < $2 OR $2 = '') LIMIT 10`, [start, end])).rows.map((x) => x.k);
  } finally { await first.end(); }
  for (const pod of await routerPods()) {
    await eventually(() => viaRouter(pod, async (c) => { await c.query('SELECT 1 FROM orders LIMIT 1'); }).then(() => true, () => false), (ok) => ok, 120_000);
    await viaRouter(pod, async (c) => { for (const k of keys) await c.query('INSERT INTO orders (customer_id, note) VALUES ($1, \'after failover\')', [k]); });
  }
  const placed = await placement('orders', 'after failover');
  assert.deepEqual(placed.get(shard), { total: keys.length * (await routerPods()).length, outside: 0 }, 'on the failed-over shard, in its range');
  assert.equal((await placement('orders', 'via router')).get(shard)?.total, rowsBefore, 'the rows written before the failover are on the new primary');
});

test('deleting the sharded cluster removes its router Deployment, Service, ConfigMap, identity and pods', async () => {
  const r = await env.kubectl(['delete', 'pgc', 'shop', '--timeout=180s']);
  assert.equal(r.status, 0, `${r.stderr}\n${env.operatorLog()}`);
  const gone = (read: () => Promise<unknown>) => eventually(() => read().then(() => true, () => false), (exists) => !exists, 60_000);
  await gone(() => env.kc.makeApiClient(AppsV1Api).readNamespacedDeployment({ namespace: ns, name: 'shop-router' }));
  await gone(() => core().readNamespacedService({ namespace: ns, name: 'shop-router' }));
  await gone(() => core().readNamespacedConfigMap({ namespace: ns, name: 'shop-router' }));
  await gone(() => core().readNamespacedServiceAccount({ namespace: ns, name: 'shop-router' }));
  await gone(() => core().readNamespacedSecret({ namespace: ns, name: 'shop-router-tls' }));
  await eventually(routerPods, (pods) => pods.length === 0, 60_000);
});
