// bench/backup on Kubernetes: the time from `kubectl apply` of a recovery manifest to the first query the restored
// cluster accepts, on the test control plane (real kube-apiserver + etcd, the process kubelet running real agents
// and postgres), against `pgbackrest restore` by hand from the same repository volume into an empty directory
// (files only: no start, no replay — the floor). The ratio is baseline time / pgop time (1.0x = as fast).
// The machine's load and core count are printed with the figures: this harness shares the machine with everything.
import { parseArgs } from 'node:util';
import { chownSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { execFile } from 'node:child_process';
import pg from 'pg';
import { CoreV1Api } from '@kubernetes/client-node';
import { startK8sEnv, type K8sEnv } from '../../tests/k8s/harness/k8s-env.js';
import { postgresUser } from '../../adapters/os/os-user.js';

const { values } = parseArgs({ options: { scale: { type: 'string', default: '10' }, smoke: { type: 'boolean', default: false } } });
const scale = values.smoke ? 1 : Number(values.scale);
const ns = 'default';
const REPO = '/var/lib/pgbackrest';
const pgUser = postgresUser();

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const timed = async (fn: () => Promise<unknown>): Promise<number> => { const t = process.hrtime.bigint(); await fn(); return Number(process.hrtime.bigint() - t) / 1e9; };
function run(bin: string, args: string[], env: Record<string, string> = {}, asPostgres = false): Promise<void> {
  return new Promise((resolve, reject) => {
    execFile(bin, args, { env: { ...process.env, ...env }, maxBuffer: 64 << 20, cwd: '/', ...(asPostgres && pgUser ? { uid: pgUser.uid, gid: pgUser.gid } : {}) },
      (err, _o, stderr) => (err ? reject(new Error(`${bin}: ${stderr.trim().split('\n').slice(-3).join(' | ')}`)) : resolve()));
  });
}
async function until<T>(what: string, fn: () => Promise<T | undefined>, timeoutMs: number, everyMs = 500): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn().catch(() => undefined);
    if (v !== undefined) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(everyMs);
  }
}

const load = () => loadavg().map((x) => x.toFixed(2)).join(' / ');
const loadBefore = load();
let env: K8sEnv | undefined;
const scratch = mkdtempSync(join(tmpdir(), 'pgop-bench-k8s-restore-'));
try {
  env = await startK8sEnv('bench-restore');
  const e = env;
  const core = e.kc.makeApiClient(CoreV1Api);
  const secret = async (name: string, key: string) => Buffer.from((await core.readNamespacedSecret({ namespace: ns, name })).data?.[key] ?? '', 'base64').toString('utf8');
  const client = async (cluster: string, instance: string) => {
    const c = new pg.Client({
      host: e.kubelet.podIP(ns, instance) ?? '', port: 5432, user: 'postgres', password: await secret(`${cluster}-superuser`, 'password'), database: 'app',
      ssl: { ca: await secret(`${cluster}-ca`, 'ca.crt'), servername: `${cluster}-r.${ns}.svc`, rejectUnauthorized: true }, connectionTimeoutMillis: 2000,
    });
    await c.connect();
    return c;
  };
  const repository = { posix: { path: REPO, volumeClaim: 'backups' } };
  await e.apply({ apiVersion: 'v1', kind: 'PersistentVolumeClaim', metadata: { name: 'backups', namespace: ns }, spec: { accessModes: ['ReadWriteMany'], resources: { requests: { storage: '10Gi' } } } });
  await e.apply({ apiVersion: 'postgres.keiailab.io/v1alpha1', kind: 'PostgresCluster', metadata: { name: 'bsrc', namespace: ns }, spec: { instances: 1, backup: { repository } } });
  const src = await until('bsrc Ready', async () => { const c = await e.custom('postgresclusters', 'bsrc'); return c?.status?.phase === 'Ready' ? c : undefined; }, 600_000);
  const primary = String(src.status?.currentPrimary ?? '');
  const caFile = join(scratch, 'bsrc-ca.crt');
  writeFileSync(caFile, await secret('bsrc-ca', 'ca.crt'));
  console.log(`pgbench -i -s ${scale} ...`);
  await run('pgbench', ['-i', '-s', String(scale), '-q', `host=${e.kubelet.podIP(ns, primary)} port=5432 user=postgres dbname=app sslmode=verify-ca sslrootcert=${caFile}`],
    { PGPASSWORD: await secret('bsrc-superuser', 'password') });
  const c0 = await client('bsrc', primary);
  const bytes = Number((await c0.query<{ n: string }>('SELECT sum(pg_database_size(datname))::bigint::text AS n FROM pg_database')).rows[0]?.n ?? 0);
  await c0.end();
  await e.apply({ apiVersion: 'postgres.keiailab.io/v1alpha1', kind: 'BackupJob', metadata: { name: 'bsrc-full', namespace: ns }, spec: { cluster: { name: 'bsrc' }, backupType: 'full', target: 'primary' } });
  const job = await until('BackupJob done', async () => { const j = await e.custom('backupjobs', 'bsrc-full'); return j?.status?.phase === 'Succeeded' || j?.status?.phase === 'Failed' ? j : undefined; }, 3600_000);
  if (job.status?.phase !== 'Succeeded') throw new Error(`backup failed: ${String(job.status?.message)}`);
  const label = String(job.status?.backupId);

  // The floor: the same backup's files restored by hand from the same volume.
  const volume = e.kubelet.volumeDir(ns, 'backups');
  const handDir = join(scratch, 'restore');
  mkdirSync(handDir, { mode: 0o700 });
  const handConf = join(scratch, 'restore.conf');
  writeFileSync(handConf, `[global]\nrepo1-path=${volume}\nlog-level-console=off\nlog-level-stderr=warn\n\n[default_bsrc]\npg1-path=${handDir}\n`);
  if (pgUser) { chownSync(scratch, pgUser.uid, pgUser.gid); chownSync(handDir, pgUser.uid, pgUser.gid); chownSync(handConf, pgUser.uid, pgUser.gid); }
  const byHand = await timed(() => run('pgbackrest', [`--config=${handConf}`, '--stanza=default_bsrc', 'restore', `--set=${label}`, '--type=immediate'], {}, true));

  // pgop: kubectl apply of the recovery manifest → the first query the new cluster's first instance accepts.
  const manifest = join(scratch, 'brst.yaml');
  writeFileSync(manifest, `apiVersion: postgres.keiailab.io/v1alpha1\nkind: PostgresCluster\nmetadata:\n  name: brst\n  namespace: ${ns}\nspec:\n  instances: 1\n  backup:\n    repository:\n      posix: { path: ${REPO}, volumeClaim: backups }\n  bootstrap:\n    recovery:\n      repository:\n        posix: { path: ${REPO}, volumeClaim: backups }\n      sourceCluster: { namespace: ${ns}, name: bsrc }\n      backup: "${label}"\n`);
  const t0 = process.hrtime.bigint();
  const since = () => Number(process.hrtime.bigint() - t0) / 1e9;
  const r = await e.kubectl(['apply', '-f', manifest]);
  if (r.status !== 0) throw new Error(r.stderr);
  const rows = await until('the first accepted query', async () => {
    const c = await client('brst', 'brst-1');
    try { return Number((await c.query<{ n: string }>('SELECT count(*)::text AS n FROM pgbench_accounts')).rows[0]?.n); } finally { await c.end(); }
  }, 3600_000, 200);
  const firstQuery = since();
  await until('brst Ready', async () => ((await e.custom('postgresclusters', 'brst'))?.status?.phase === 'Ready' ? true : undefined), 600_000, 200);
  const ready = since();
  const mib = (b: number) => (b / 1048576).toFixed(0);
  console.log(`\nbench/backup (Kubernetes): pgbench scale ${scale}, ${mib(bytes)} MiB in all databases, ${rows} rows restored, ${new Date().toISOString()}`);
  console.log(`machine: ${cpus().length} cores; load average (1/5/15 min) before ${loadBefore}, after ${load()}\n`);
  console.log('| run | time | baseline time / this time |\n| --- | --- | --- |');
  console.log(`| pgop restore: \`kubectl apply\` → first accepted query | ${firstQuery.toFixed(1)} s | ${(byHand / firstQuery).toFixed(2)}x (vs pgbackrest restore by hand) |`);
  console.log(`| pgop restore: \`kubectl apply\` → status Ready | ${ready.toFixed(1)} s | ${(byHand / ready).toFixed(2)}x |`);
  console.log(`| pgbackrest restore by hand (files only, same volume) | ${byHand.toFixed(1)} s | — |`);
} finally {
  await env?.stop();
  rmSync(scratch, { recursive: true, force: true });
}
