// `kubectl pgop` against a real kube-apiserver: kubectl finds `kubectl-pgop` on the PATH and runs it with the
// current kubeconfig ($KUBECONFIG). Status shows a running two-instance cluster; a switchover requested through the
// plugin lands (the annotation the operator watches) and completes; a Pooler in front of the cluster follows the new
// primary without anyone touching it; psql reaches the primary; logs (kubectl's and the plugin's) show what each
// instance logged, through the process kubelet's log endpoint; fence and hibernate write their annotations.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import { mkdirSync, writeFileSync, chmodSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import pg from 'pg';
import { CoreV1Api } from '@kubernetes/client-node';
import { startK8sEnv, type K8sEnv } from './harness/k8s-env.js';
import { kubectlBin } from './harness/control-plane.js';
import { repoRoot } from '../helpers/cli.js';
import { eventually } from '../helpers/sql.js';

const ns = 'default';
const API = 'postgres.keiailab.io/v1alpha1';
let env: K8sEnv;
let pathDir: string;

before(async () => {
  env = await startK8sEnv('plugin');
  // How a user installs it: `kubectl-pgop` on the PATH (npm's bin entry, or a symlink to pgop's kubectl-pgop.js).
  pathDir = join(env.work, 'bin');
  mkdirSync(pathDir, { recursive: true });
  writeFileSync(join(pathDir, 'kubectl-pgop'), `#!/bin/sh\nexec "${process.execPath}" "${join(repoRoot, 'dist', 'bin', 'kubectl-pgop.js')}" "$@"\n`);
  chmodSync(join(pathDir, 'kubectl-pgop'), 0o755);
}, { timeout: 60 * 60_000 });
after(async () => { await env?.stop(); });

/** `kubectl pgop ARGS` the way a user runs it: no flags of ours, the kubeconfig from the environment. */
const plugin = (args: string[]) => new Promise<{ status: number; stdout: string; stderr: string }>((resolve) => {
  execFile(kubectlBin, ['pgop', ...args], { encoding: 'utf8', timeout: 600_000, env: { ...process.env, KUBECONFIG: env.cp.kubeconfig, PATH: `${pathDir}:${process.env.PATH ?? ''}` } },
    (err, stdout, stderr) => resolve({ status: err ? (typeof err.code === 'number' ? err.code : 1) : 0, stdout, stderr }));
});
const withLog = <T>(p: Promise<T>) => p.catch((e: unknown) => { throw new Error(`${(e as Error).message}\n${env.operatorLog()}`); });
const secret = async (name: string, key: string) => {
  const s = await env.kc.makeApiClient(CoreV1Api).readNamespacedSecret({ namespace: ns, name });
  return Buffer.from(s.data?.[key] ?? '', 'base64').toString('utf8');
};

/** Which instance answers through the Pooler, and whether it is the primary. */
async function throughPooler(): Promise<{ addr: string; primary: boolean }> {
  const pods = (await env.kc.makeApiClient(CoreV1Api).listNamespacedPod({ namespace: ns, labelSelector: 'postgres.keiailab.io/pooler=demo-pooler' })).items.filter((p) => !p.metadata?.deletionTimestamp);
  const ip = env.kubelet.podIP(ns, pods[0]?.metadata?.name ?? '') ?? '';
  const c = new pg.Client({ host: ip, port: 5432, user: 'app', password: await secret('demo-app', 'password'), database: 'app', connectionTimeoutMillis: 5000,
    ssl: { ca: await secret('demo-ca', 'ca.crt'), servername: `demo-r.${ns}.svc`, rejectUnauthorized: true } });
  c.on('error', () => undefined);
  await c.connect();
  try {
    const r = await c.query<{ addr: string; primary: boolean }>('SELECT host(inet_server_addr()) AS addr, NOT pg_is_in_recovery() AS primary');
    return r.rows[0]!;
  } finally { await c.end(); }
}

test('kubectl pgop status shows the running cluster: instances, roles, timeline, certificate', async () => {
  await env.apply({ apiVersion: API, kind: 'PostgresCluster', metadata: { name: 'demo' }, spec: { instances: 2, postgresVersion: 15 } });
  await withLog(eventually(() => env.custom('postgresclusters', 'demo'), (c) => c?.status?.phase === 'Ready' && c.status.readyInstances === 2, 400_000));
  await env.apply({ apiVersion: API, kind: 'Pooler', metadata: { name: 'demo-pooler' }, spec: { cluster: { name: 'demo' }, type: 'rw', instances: 1 } });
  await withLog(eventually(() => env.custom('poolers', 'demo-pooler'), (p) => p?.status?.phase === 'Ready', 240_000));

  const r = await plugin(['status', 'demo']);
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /^Cluster: +default\/demo$/m);
  assert.match(r.stdout, /^Phase: +Ready\b/m);
  assert.match(r.stdout, /^Primary: +demo-1$/m);
  assert.match(r.stdout, /^Timeline: +1$/m);
  assert.match(r.stdout, /^demo-1 +primary +true +\S+ +1 /m);
  assert.match(r.stdout, /^demo-2 +replica +true +\S+ +1 /m);
  assert.match(r.stdout, /^demo-pooler +rw +1\/1 +Ready +demo-1$/m);
  assert.match(r.stdout, /expires \d{4}-\d\d-\d\dT.* \(in \d+ days\)/);
  assert.match(r.stdout, /names: .*demo-rw\.default\.svc/);
});

test('kubectl pgop switchover lands as the operator\'s request and completes; the Pooler follows the new primary', async () => {
  // Ready means its pod is; the first session through it may still wait on PgBouncer's first server login.
  const before = await eventually(() => throughPooler().catch(() => null), (x) => x !== null, 60_000);
  assert.equal(before?.primary, true);
  assert.equal(before?.addr, env.kubelet.podIP(ns, 'demo-1'));

  const r = await plugin(['switchover', 'demo', '--timeout', '300']);
  assert.equal(r.status, 0, `${r.stdout}\n${r.stderr}\n${env.operatorLog()}`);
  assert.match(r.stdout, /switchover [0-9a-f]{8} requested: demo-1 → the most advanced replica/);
  assert.match(r.stdout, /switchover [0-9a-f]{8} done: demo-1 → demo-2 on timeline 2/);
  const c = await env.custom('postgresclusters', 'demo');
  assert.equal(c?.status?.currentPrimary, 'demo-2');
  assert.match(c?.metadata.annotations?.['postgres.keiailab.io/switchover'] ?? '', /"to":null/);

  const pooler = await withLog(eventually(() => env.custom('poolers', 'demo-pooler'), (p) => p?.status?.target === 'demo-2', 120_000));
  assert.equal(pooler?.status?.phase, 'Ready');
  const after = await eventually(() => throughPooler(), (x) => x.primary && x.addr === env.kubelet.podIP(ns, 'demo-2'), 60_000);
  assert.equal(after.primary, true);

  const s = await plugin(['status', 'demo']);
  assert.match(s.stdout, /^Primary: +demo-2$/m);
  assert.match(s.stdout, /^switchover +promoted +demo-1 +demo-2 +2 /m);
});

test('kubectl pgop psql --direct reaches the primary over TLS', async () => {
  const r = await plugin(['psql', 'demo', '--direct', '--', '-tAc', 'SELECT NOT pg_is_in_recovery()']);
  assert.equal(r.status, 0, r.stderr);
  assert.equal(r.stdout.trim(), 't');
  const ro = await plugin(['psql', 'demo', '--direct', '--replica', '--', '-tAc', 'SELECT pg_is_in_recovery()']);
  assert.equal(ro.stdout.trim(), 't');
});

/** The container log the process kubelet kept for a pod: what the instance process really wrote. */
const containerLog = (pod: string) => readFileSync(join(env.work, 'kubelet', 'pods', ns, pod, 'container.log'), 'utf8');

test('kubectl logs and kubectl pgop logs show what each instance logged (agent and postgres), prefixed by instance', async () => {
  const instances = ['demo-1', 'demo-2'];
  for (const pod of instances) {
    const r = await env.kubectl(['logs', pod]);
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /"msg":"agent started"/);
    // postgres's own lines, passed on by the agent from the log on its volume.
    assert.match(r.stdout, /"source":"postgres".*"msg":"[^"]*database system is ready to accept (read-only )?connections/);
  }

  const tail = await plugin(['logs', 'demo', '--tail', '20']);
  assert.equal(tail.status, 0, tail.stderr);
  for (const pod of instances) {
    const lines = tail.stdout.split('\n').filter((l) => l.startsWith(`[${pod}] `)).map((l) => l.slice(pod.length + 3));
    assert.ok(lines.length > 0 && lines.length <= 20, `${pod}: ${lines.length} lines`);
    // The instance's last lines as it wrote them, in order.
    assert.ok(containerLog(pod).includes(`${lines.join('\n')}\n`), `${pod}'s lines are not what it logged:\n${lines.join('\n')}`);
  }
  assert.equal(tail.stdout.split('\n').filter(Boolean).every((l) => /^\[demo-[12]\] /.test(l)), true);

  const one = await plugin(['logs', 'demo', 'demo-1', '--tail', '-1']);
  assert.equal(one.status, 0, one.stderr);
  assert.match(one.stdout, /^\[demo-1\] .*"msg":"agent started"/m);
  assert.doesNotMatch(one.stdout, /^\[demo-2\]/m);
  assert.match((await plugin(['logs', 'demo', 'demo-9'])).stderr, /demo-9 has no pod in demo \(pods: demo-1, demo-2\)/);

  // -f: a line postgres logs after the stream began arrives, prefixed by the instance it came from.
  const primary = String((await env.custom('postgresclusters', 'demo'))?.status?.currentPrimary);
  const follow = spawn(kubectlBin, ['pgop', 'logs', 'demo', '-f', '--tail', '0'], { env: { ...process.env, KUBECONFIG: env.cp.kubeconfig, PATH: `${pathDir}:${process.env.PATH ?? ''}` } });
  let streamed = '';
  follow.stdout.setEncoding('utf8').on('data', (d: string) => { streamed += d; });
  try {
    const marker = `pgop-follow-${process.pid}`;
    await eventually(async () => {
      await plugin(['psql', 'demo', '--direct', '--', '-c', `DO $$ BEGIN RAISE LOG '${marker}'; END $$`]);
      return streamed;
    }, (text) => new RegExp(`^\\[${primary}\\] .*"source":"postgres".*${marker}`, 'm').test(text), 60_000);
  } finally { follow.kill('SIGTERM'); }
});

test('fence / unfence and hibernate write the annotations the operator acts on; bad names are refused', async () => {
  assert.equal((await plugin(['fence', 'demo', 'demo-1'])).status, 0);
  let c = await env.custom('postgresclusters', 'demo');
  assert.equal(c?.metadata.annotations?.['postgres.keiailab.io/fenced-instances'], '["demo-1"]');
  const bad = await plugin(['fence', 'demo', 'Demo 1;']);
  assert.notEqual(bad.status, 0);
  assert.match(bad.stderr, /is not an instance name/);
  assert.equal((await plugin(['unfence', 'demo', 'demo-1'])).status, 0);
  c = await env.custom('postgresclusters', 'demo');
  assert.equal(c?.metadata.annotations?.['postgres.keiailab.io/fenced-instances'], undefined);
  assert.equal((await plugin(['hibernate', 'demo', 'off'])).status, 0);
  c = await env.custom('postgresclusters', 'demo');
  assert.equal(c?.metadata.annotations?.['postgres.keiailab.io/hibernation'], 'off');
  assert.match((await plugin(['hibernate', 'demo', 'maybe'])).stderr, /on or off/);
  assert.match((await plugin(['status', 'nosuch'])).stderr, /postgrescluster "nosuch" not found/);
});

test('kubectl pgop restart recreates a replica on its volume; the primary is refused; backup creates a BackupJob', async () => {
  const refused = await plugin(['restart', 'demo', 'demo-2']);
  assert.notEqual(refused.status, 0);
  assert.match(refused.stderr, /demo-2 is the primary: switch over first/);
  const before = (await env.kc.makeApiClient(CoreV1Api).readNamespacedPod({ namespace: ns, name: 'demo-1' })).metadata?.uid;
  const r = await plugin(['restart', 'demo', 'demo-1', '--timeout', '300']);
  assert.equal(r.status, 0, `${r.stdout}\n${r.stderr}\n${env.operatorLog()}`);
  assert.match(r.stdout, /demo-1 is back/);
  const after = (await env.kc.makeApiClient(CoreV1Api).readNamespacedPod({ namespace: ns, name: 'demo-1' })).metadata?.uid;
  assert.notEqual(after, before, 'a new pod');
  await withLog(eventually(() => env.custom('postgresclusters', 'demo'), (c) => c?.status?.phase === 'Ready' && c.status.readyInstances === 2, 300_000));

  const b = await plugin(['backup', 'demo']);
  assert.equal(b.status, 0, b.stderr);
  const name = /backupjob\/(\S+) created/.exec(b.stdout)?.[1] ?? '';
  const job = await env.custom('backupjobs', name);
  assert.equal((job?.spec?.cluster as { name?: string } | undefined)?.name, 'demo');
});
