// Pooler on a real kube-apiserver: a Pooler object yields a Deployment (restricted pods running `pgop pooler`, the
// image the operator was configured with), a Service `<pooler>`, the pods' read-only identity and a NetworkPolicy;
// the process kubelet runs real PgBouncer in those pods (the Deployment's pods come from a test stand-in for the
// Deployment controller, since no kube-controller-manager runs here). Clients reach PostgreSQL through it with TLS
// on both sides, the pods export PgBouncer's stats, and `paused` reaches PgBouncer.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import pg from 'pg';
import { AppsV1Api, CoreV1Api, NetworkingV1Api, type V1Pod } from '@kubernetes/client-node';
import { join } from 'node:path';
import { X509Certificate } from 'node:crypto';
import { startK8sEnv, type K8sEnv } from './harness/k8s-env.js';
import { repoRoot } from '../helpers/cli.js';
import { eventually } from '../helpers/sql.js';

const ns = 'default';
const API = 'postgres.keiailab.io/v1alpha1';
const IMAGE = 'registry.example/pgbouncer-pods:test';
let env: K8sEnv;

// The periodic certificate check is an hour away: a new pod IP can only reach the server certificate through the
// address trigger (adapters/certs/k8s-rotation.ts), which PgBouncer's verify-full by pod IP depends on.
before(async () => { env = await startK8sEnv('pooler', { PGOP_POOLER_IMAGE: IMAGE, PGOP_TLS_CHECK_MS: '3600000' }); }, { timeout: 60 * 60_000 });
after(async () => { await env?.stop(); });

const secret = async (name: string, key: string) => {
  const s = await env.kc.makeApiClient(CoreV1Api).readNamespacedSecret({ namespace: ns, name });
  return Buffer.from(s.data?.[key] ?? '', 'base64').toString('utf8');
};
const poolerPods = async (): Promise<V1Pod[]> =>
  (await env.kc.makeApiClient(CoreV1Api).listNamespacedPod({ namespace: ns, labelSelector: 'postgres.keiailab.io/pooler=single-pooler' })).items
    .filter((p) => !p.metadata?.deletionTimestamp);
const metrics = async (ip: string) => (await fetch(`http://${ip}:9127/metrics`)).text();

test('a Pooler becomes a Deployment and a Service; PgBouncer runs, reaches the primary over TLS and reports Ready', async () => {
  assert.equal((await env.kubectl(['apply', '-f', join(repoRoot, 'crds', 'samples', 'postgrescluster-minimal.yaml')])).status, 0);
  await eventually(() => env.custom('postgresclusters', 'single'), (c) => c?.status?.phase === 'Ready', 300_000)
    .catch((e: unknown) => { throw new Error(`${(e as Error).message}\n${env.operatorLog()}`); });
  // The primary's certificate names its pod IP soon after the Pod has one (one status beat), not at the next renewal.
  const primaryIp = env.kubelet.podIP(ns, 'single-1') ?? '';
  assert.ok(primaryIp, 'the primary Pod has an IP');
  await eventually(async () => new X509Certificate(await secret('single-server', 'tls.crt')).subjectAltName ?? '',
    (names) => names.split(', ').includes(`IP Address:${primaryIp}`), 30_000);
  await env.apply({ apiVersion: API, kind: 'Pooler', metadata: { name: 'single-pooler' }, spec: { cluster: { name: 'single' }, type: 'rw', instances: 2, pgbouncer: { poolMode: 'transaction' } } });

  const status = await eventually(() => env.custom('poolers', 'single-pooler'), (p) => p?.status?.phase === 'Ready' && p.status.readyInstances === 2, 240_000)
    .catch((e: unknown) => { throw new Error(`${(e as Error).message}\n${env.operatorLog()}`); });
  assert.equal(status?.status?.target, 'single-1');
  assert.equal(status?.status?.endpoint, 'single-pooler.default.svc:5432');

  const dep = await env.kc.makeApiClient(AppsV1Api).readNamespacedDeployment({ namespace: ns, name: 'single-pooler' });
  assert.equal(dep.spec?.replicas, 2);
  const pod = dep.spec?.template.spec;
  const c = pod?.containers[0];
  assert.equal(c?.image, IMAGE);
  assert.deepEqual(c?.args, ['pooler', '--kubernetes']);
  assert.equal(pod?.serviceAccountName, 'single-pooler-pooler');
  assert.equal(pod?.securityContext?.runAsNonRoot, true);
  assert.equal(pod?.securityContext?.seccompProfile?.type, 'RuntimeDefault');
  assert.equal(c?.securityContext?.readOnlyRootFilesystem, true);
  assert.equal(c?.securityContext?.allowPrivilegeEscalation, false);
  assert.deepEqual(c?.securityContext?.capabilities?.drop, ['ALL']);
  assert.ok(!JSON.stringify(dep).includes(await secret('single-pooler-auth', 'password')), 'no password in the Deployment');

  const svc = await env.kc.makeApiClient(CoreV1Api).readNamespacedService({ namespace: ns, name: 'single-pooler' });
  assert.deepEqual(svc.spec?.ports?.map((p) => p.port), [5432, 9127]);
  const labels = dep.spec?.template.metadata?.labels ?? {};
  for (const [k, v] of Object.entries(svc.spec?.selector ?? {})) assert.equal(labels[k], v, `the Service selects the pods by ${k}`);
  const np = await env.kc.makeApiClient(NetworkingV1Api).readNamespacedNetworkPolicy({ namespace: ns, name: 'single-pooler' });
  assert.deepEqual(np.spec?.ingress?.map((r) => r.ports?.[0]?.port), [5432, 9127]);

  const pods = await poolerPods();
  assert.equal(pods.length, 2);
  const ca = await secret('single-ca', 'ca.crt');
  const password = await secret('single-app', 'password');
  for (const p of pods) {
    const ip = env.kubelet.podIP(ns, p.metadata?.name ?? '') ?? '';
    // PgBouncer serves the cluster's certificate: verified against the cluster CA, as the instances are.
    // Ready means the pod is; the first session through it may still wait on PgBouncer's first server login (a 5 s
    // connect timed out once in CI, as in the kubectl-plugin test): connecting is retried, the query is not.
    const client = await eventually(async () => {
      const c = new pg.Client({ host: ip, port: 5432, user: 'app', password, database: 'app', ssl: { ca, servername: `single-r.${ns}.svc`, rejectUnauthorized: true }, connectionTimeoutMillis: 10_000 });
      c.on('error', () => undefined);
      try { await c.connect(); return c; } catch { await c.end().catch(() => undefined); return null; }
    }, (c) => c !== null, 60_000);
    if (!client) throw new Error(`no session through pooler pod ${ip}`);
    try {
      const r = await client.query<{ ssl: boolean; primary: boolean }>('SELECT ssl, NOT pg_is_in_recovery() AS primary FROM pg_stat_ssl WHERE pid = pg_backend_pid()');
      assert.deepEqual(r.rows, [{ ssl: true, primary: true }], 'PgBouncer reaches the primary over TLS');
    } finally { await client.end(); }
    // PgBouncer may publish its totals at its stats period: wait for the transaction just made to show.
    const text = await eventually(() => metrics(ip), (t) => /pgop_pooler_transactions_total\{database="app",pooler="single-pooler"\} [1-9]/.test(t), 90_000);
    assert.match(text, /pgop_pooler_up\{pooler="single-pooler"\} 1/);
    assert.match(text, /pgop_pooler_max_client_connections\{pooler="single-pooler"\} 1000/);
  }
});

test('paused: true reaches every PgBouncer pod (PAUSE), false resumes', async () => {
  await env.kubectl(['patch', 'pooler', 'single-pooler', '--type=merge', '-p', '{"spec":{"paused":true}}']);
  const ips = (await poolerPods()).map((p) => env.kubelet.podIP(ns, p.metadata?.name ?? '') ?? '');
  for (const ip of ips) await eventually(() => metrics(ip), (t) => /pgop_pooler_paused\{pooler="single-pooler"\} 1/.test(t), 60_000);
  const st = await eventually(() => env.custom('poolers', 'single-pooler'), (p) => p?.status?.phase === 'Paused', 60_000);
  assert.equal(st?.status?.paused, true);
  await env.kubectl(['patch', 'pooler', 'single-pooler', '--type=merge', '-p', '{"spec":{"paused":false}}']);
  for (const ip of ips) await eventually(() => metrics(ip), (t) => /pgop_pooler_paused\{pooler="single-pooler"\} 0/.test(t), 60_000);
});

test('deleting the Pooler removes its Deployment, Service and pods', async () => {
  const r = await env.kubectl(['delete', 'pooler', 'single-pooler', '--timeout=120s']);
  assert.equal(r.status, 0, `${r.stderr}\n${env.operatorLog()}`);
  await eventually(() => env.kc.makeApiClient(AppsV1Api).readNamespacedDeployment({ namespace: ns, name: 'single-pooler' }).then(() => true, () => false), (exists) => !exists, 60_000);
  await eventually(() => env.kc.makeApiClient(CoreV1Api).readNamespacedService({ namespace: ns, name: 'single-pooler' }).then(() => true, () => false), (exists) => !exists, 60_000);
  await eventually(poolerPods, (pods) => pods.length === 0, 120_000);
});
