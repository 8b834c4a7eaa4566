// PostgresUser and PostgresDatabase on a real kube-apiserver: `kubectl apply` of a basic-auth Secret, a user and a
// database yields the role and database in PostgreSQL (real postgres run by the process kubelet), `kubectl get
// pguser,pgdb` shows the printer columns, a changed Secret rotates the password (old one refused), and deleting the
// database with reclaimPolicy delete drops it.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, execFile, type ChildProcess } from 'node:child_process';
import { appendFileSync, mkdtempSync, openSync, closeSync, readFileSync, rmSync, chmodSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { stringify } from 'yaml';
import { CoreV1Api, CustomObjectsApi, type KubeConfig } from '@kubernetes/client-node';
import { startControlPlane, kubectlBin, type ControlPlane } from './harness/control-plane.js';
import { startProcessKubelet, type ProcessKubelet } from './harness/process-kubelet.js';
import { loadKubeConfig } from '../../adapters/k8s/client.js';
import { pgopCommand } from '../../adapters/local/self.js';
import { startRedis, stopRedis } from '../../adapters/local/redis-server.js';
import { StateDir } from '../../adapters/local/state-dir.js';
import type { PostgresCluster } from '../../crds/postgrescluster.js';
import { repoRoot, pgopBin } from '../helpers/cli.js';
import { eventually } from '../helpers/sql.js';

let cp: ControlPlane;
let kubelet: ProcessKubelet;
let kc: KubeConfig;
let redis: { url: string; pid: number };
let operator: ChildProcess | undefined;
const work = mkdtempSync(join(tmpdir(), 'pgop-k8s-sql-'));
chmodSync(work, 0o755);
const ns = 'default';
const API = 'postgres.keiailab.io/v1alpha1';
const kubectl = (args: string[]) => new Promise<{ status: number; stdout: string; stderr: string }>((resolve) => {
  execFile(kubectlBin, ['--kubeconfig', cp.kubeconfig, ...args], { encoding: 'utf8', timeout: 300_000 }, (err, stdout, stderr) => {
    resolve({ status: err ? (typeof err.code === 'number' ? err.code : 1) : 0, stdout, stderr });
  });
});
let seq = 0;
async function apply(...objects: object[]): Promise<void> {
  const file = join(work, `m-${++seq}.yaml`);
  writeFileSync(file, objects.map((o) => stringify(o)).join('---\n'));
  const r = await kubectl(['apply', '-f', file]);
  assert.equal(r.status, 0, r.stderr);
}
const operatorLog = () => { try { return readFileSync(join(work, 'operator.log'), 'utf8').split('\n').slice(-30).join('\n'); } catch { return ''; } };

async function custom(plural: string, name: string): Promise<{ metadata: { generation?: number }; status?: Record<string, unknown> } | undefined> {
  const co = kc.makeApiClient(CustomObjectsApi);
  return co.getNamespacedCustomObject({ group: 'postgres.keiailab.io', version: 'v1alpha1', namespace: ns, plural, name })
    .then((o) => o as { metadata: { generation?: number }; status?: Record<string, unknown> }, () => undefined);
}
const applied = (plural: string, name: string, more: (s: Record<string, unknown>) => boolean = () => true) =>
  eventually(() => custom(plural, name), (o) => !!o && o.status?.applied === true && o.status.observedGeneration === o.metadata.generation && more(o.status), 180_000)
    .catch((e: unknown) => { throw new Error(`${(e as Error).message}\n${operatorLog()}`); });

/** TCP is TLS-only: verified against the cluster CA by the "any instance" Service name (pod IPs are dialled). */
async function connect(user: string, password: string, database = 'postgres') {
  const caSecret = await kc.makeApiClient(CoreV1Api).readNamespacedSecret({ namespace: ns, name: 'single-ca' });
  const ca = Buffer.from(caSecret.data?.['ca.crt'] ?? '', 'base64').toString('utf8');
  const c = new pg.Client({
    host: kubelet.podIP(ns, 'single-1') ?? '', port: 5432, user, password, database, connectionTimeoutMillis: 5000,
    ssl: { ca, servername: `single-r.${ns}.svc`, rejectUnauthorized: true },
  });
  c.on('error', () => undefined);
  await c.connect();
  return c;
}
async function superuser(): Promise<pg.Client> {
  const s = await kc.makeApiClient(CoreV1Api).readNamespacedSecret({ namespace: ns, name: 'single-superuser' });
  return connect('postgres', Buffer.from(s.data?.password ?? '', 'base64').toString('utf8'));
}
async function canLogin(user: string, password: string): Promise<boolean> {
  try { const c = await connect(user, password); await c.end(); return true; } catch { return false; }
}

before(async () => {
  cp = await startControlPlane();
  kc = loadKubeConfig(cp.kubeconfig);
  assert.equal((await kubectl(['apply', '--server-side', '-f', join(repoRoot, 'chart', 'crds')])).status, 0);
  assert.equal((await kubectl(['wait', '--for=condition=Established', '--timeout=60s', 'crd', '--all'])).status, 0);
  redis = await startRedis(new StateDir(join(work, 'redis-state')));
  kubelet = await startProcessKubelet({
    kubeconfig: cp.kubeconfig, root: join(work, 'kubelet'), pgopCommand: (args) => pgopCommand(args),
    // Away from the addresses other suites start at (they may run at the same time on a shared machine).
    firstAddress: 200 + (process.pid % 40),
    log: (line) => appendFileSync(join(work, 'kubelet.log'), `${new Date().toISOString()} ${line}\n`),
  });
  startOperator();
}, { timeout: 60 * 60_000 });

let stopping = false;
/** Like the operator's Deployment: an operator that exits (e.g. it lost its lease on a starved machine) comes back. */
function startOperator(): void {
  const log = openSync(join(work, 'operator.log'), 'a');
  operator = spawn(process.execPath, [pgopBin, 'operator', '--platform', 'kubernetes', '--kubeconfig', cp.kubeconfig, '--namespace', ns, '--metrics-port', '0'], {
    env: { ...process.env, REDIS_URL: redis.url, POD_NAME: 'operator-sql', PGOP_LEADER_LEASE_SECONDS: '15', PGOP_SQL_SECRET_POLL_MS: '1000' }, stdio: ['ignore', log, log],
  });
  closeSync(log);
  operator.once('exit', () => { if (!stopping) setTimeout(startOperator, 1000); });
}

after(async () => {
  stopping = true;
  if (operator?.exitCode === null) operator.kill('SIGKILL');
  await kubelet?.stop();
  await stopRedis(redis?.pid);
  await cp?.stop();
  if (process.env.PGOP_TEST_KEEP_STATE !== '1') rmSync(work, { recursive: true, force: true });
});

test('a user with a basic-auth Secret and a database appear in PostgreSQL; kubectl shows their columns', async () => {
  assert.equal((await kubectl(['apply', '-f', join(repoRoot, 'crds', 'samples', 'postgrescluster-minimal.yaml')])).status, 0);
  await eventually(async () => (await custom('postgresclusters', 'single')) as PostgresCluster | undefined, (c) => c?.status?.phase === 'Ready', 300_000);
  await apply(
    { apiVersion: 'v1', kind: 'Secret', metadata: { name: 'shop-login' }, type: 'kubernetes.io/basic-auth', stringData: { username: 'shop', password: 'k8s-first-Pa55' } },
    { apiVersion: API, kind: 'PostgresUser', metadata: { name: 'shop' }, spec: { cluster: { name: 'single' }, name: 'shop', createdb: true, passwordSecret: { name: 'shop-login' } } },
    { apiVersion: API, kind: 'PostgresDatabase', metadata: { name: 'shop' }, spec: { cluster: { name: 'single' }, name: 'shop', owner: 'shop', reclaimPolicy: 'delete', extensions: [{ name: 'pg_trgm' }], schemas: [{ name: 'sales' }] } },
  );
  await applied('postgresusers', 'shop');
  await applied('postgresdatabases', 'shop');
  const su = await superuser();
  try {
    const role = await su.query<{ rolcreatedb: boolean; rolcanlogin: boolean }>("SELECT rolcreatedb, rolcanlogin FROM pg_roles WHERE rolname = 'shop'");
    assert.deepEqual(role.rows, [{ rolcreatedb: true, rolcanlogin: true }]);
    const db = await su.query<{ owner: string }>("SELECT pg_get_userbyid(datdba) AS owner FROM pg_database WHERE datname = 'shop'");
    assert.deepEqual(db.rows, [{ owner: 'shop' }]);
  } finally { await su.end(); }
  const inside = await connect('shop', 'k8s-first-Pa55', 'shop');
  try {
    const ext = await inside.query<{ extname: string }>("SELECT extname FROM pg_extension WHERE extname = 'pg_trgm'");
    assert.equal(ext.rowCount, 1);
    const schema = await inside.query("SELECT 1 FROM pg_namespace WHERE nspname = 'sales'");
    assert.equal(schema.rowCount, 1);
  } finally { await inside.end(); }
  const table = (await kubectl(['get', 'pguser,pgdb'])).stdout;
  assert.match(table, /NAME\s+CLUSTER\s+ROLE\s+LOGIN\s+PHASE\s+APPLIED\s+AGE/);
  assert.match(table, /postgresuser\.postgres\.keiailab\.io\/shop\s+single\s+shop\s+true\s+Applied\s+true/);
  assert.match(table, /NAME\s+CLUSTER\s+DATABASE\s+OWNER\s+PHASE\s+APPLIED\s+AGE/);
  assert.match(table, /postgresdatabase\.postgres\.keiailab\.io\/shop\s+single\s+shop\s+shop\s+Applied\s+true/);
});

test('changing the Secret rotates the password: the new one logs in, the old one is refused', async () => {
  const before = await custom('postgresusers', 'shop');
  await apply({ apiVersion: 'v1', kind: 'Secret', metadata: { name: 'shop-login' }, type: 'kubernetes.io/basic-auth', stringData: { username: 'shop', password: 'k8s-second-Pa55' } });
  await applied('postgresusers', 'shop', (s) => s.passwordSecretVersion !== before?.status?.passwordSecretVersion);
  assert.equal(await canLogin('shop', 'k8s-second-Pa55'), true);
  assert.equal(await canLogin('shop', 'k8s-first-Pa55'), false);
  const status = JSON.stringify(await custom('postgresusers', 'shop'));
  assert.ok(!status.includes('k8s-second-Pa55') && !status.includes('k8s-first-Pa55'), 'no password in status or the snapshot');
});

test('deleting a database with reclaimPolicy delete drops it', async () => {
  const r = await kubectl(['delete', 'pgdb', 'shop', '--timeout=120s']);
  assert.equal(r.status, 0, `${r.stderr}\n${operatorLog()}`);
  const su = await superuser();
  try {
    const db = await su.query("SELECT 1 FROM pg_database WHERE datname = 'shop'");
    assert.equal(db.rowCount, 0);
  } finally { await su.end(); }
});
