// Rolling restarts and image updates on Kubernetes (issue #11, ADR 0026, 0036), on a real kube-apiserver with the
// process kubelet and real PostgreSQL 15 processes, the operator under the chart's ServiceAccount and RBAC: a
// parameter needing a restart re-creates the replicas' Pods one at a time, then switches over to an updated replica
// and updates the old primary last (its Pod re-created, or its postmaster restarted by the demotion itself), never
// leaving fewer than N-1 instances serving; `SHOW` then gives the new value everywhere. Changing imageName re-creates every Pod with the new image (the process kubelet runs each test image
// from its own directory of links to the installed PostgreSQL 15), primary last, rows kept; so does editing the
// ImageCatalog entry a cluster names. Status says which instance is being rolled while it runs. With
// primaryUpdateStrategy: supervised the replicas roll and the primary waits (PrimaryUpdatePending) for kubectl pgop
// switchover.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { chmodSync, mkdirSync, writeFileSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CoreV1Api } from '@kubernetes/client-node';
import pg from 'pg';
import { startK8sEnv, type K8sEnv } from './harness/k8s-env.js';
import { kubectlBin } from './harness/control-plane.js';
import { repoRoot } from '../helpers/cli.js';
import { eventually, query } from '../helpers/sql.js';
import { pgBinDir } from '../../adapters/local/postgres-install.js';
import { pgBinDirFor } from '../../adapters/k8s/specs/names.js';
import { LABEL } from '../../adapters/k8s/specs/labels.js';
import type { PostgresCluster } from '../../crds/postgrescluster.js';
import { waitForCluster } from './harness/wait-cluster.js';
import { instanceSql } from './harness/instance-sql.js';

const ns = 'default';
const NAME = 'roll';
const NAMES = ['roll-1', 'roll-2', 'roll-3'];
const INSTALLED = pgBinDir(15);
const IMAGE_A = 'registry.test/pgop:15-a';
const IMAGE_B = 'registry.test/pgop:15-b';
const IMAGE_C = 'registry.test/pgop:15-c';

/** Each test image's PostgreSQL bin directory on this host: links to the installed binaries, reachable by postgres. */
const images = mkdtempSync(join(tmpdir(), 'pgop-k8s-roll-images-'));
chmodSync(images, 0o755);
function binCopy(name: string): string {
  const dir = join(images, name, 'bin');
  mkdirSync(dir, { recursive: true, mode: 0o755 });
  chmodSync(join(images, name), 0o755);
  for (const f of readdirSync(INSTALLED)) symlinkSync(join(INSTALLED, f), join(dir, f));
  return dir;
}
const BIN = { [IMAGE_A]: binCopy('a'), [IMAGE_B]: binCopy('b'), [IMAGE_C]: binCopy('c') };

let env: K8sEnv;
before(async () => {
  // Inside every test image PostgreSQL 15 is at the Debian path the Pod spec names; on this host it is the image's copy.
  const kubeletImages = Object.fromEntries(Object.entries(BIN).map(([image, dir]) => [image, { [pgBinDirFor(15)]: dir }]));
  env = await startK8sEnv('roll', {}, { chartIdentity: true, kubelet: { images: kubeletImages } });
}, { timeout: 60 * 60_000 });
/** Watches still running when a test failed before stopping its own. */
const watches = new Set<() => Promise<unknown>>();
after(async () => {
  for (const stopWatch of watches) await stopWatch();
  await env?.stop();
  rmSync(images, { recursive: true, force: true });
});

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const core = () => env.kc.makeApiClient(CoreV1Api);
const cluster = async () => (await env.custom('postgresclusters', NAME)) as PostgresCluster | undefined;
const readyCount = (c: PostgresCluster | undefined) => (c?.status?.instances ?? []).filter((i) => i.ready).length;
const settled = (c: PostgresCluster) => c.status?.phase === 'Ready' && (c.status.instances ?? []).length === 3
  && (c.status.instances ?? []).every((i) => i.ready) && (c.status.pendingRestart ?? []).length === 0;
/**
 * The history entries started since `since` (ISO; the last 10 are kept, so not by index): switchovers, and failovers
 * that promoted (a failover cancelled because the lease was still held changes nothing).
 */
const switchovers = (c: PostgresCluster, since: string) => (c.status?.failovers ?? []).filter((f) => f.startedAt >= since && f.kind === 'switchover');
const promotedFailovers = (c: PostgresCluster, since: string) => (c.status?.failovers ?? []).filter((f) => f.startedAt >= since && f.kind === 'failover' && f.outcome === 'promoted');
const on = (c: PostgresCluster, image: string) => (c.status?.instances ?? []).length === 3 && (c.status?.instances ?? []).every((i) => i.image === image);

const waitFor = (what: string, ok: (c: PostgresCluster) => boolean, timeoutMs = 480_000) =>
  waitForCluster(cluster, what, ok, { timeoutMs, operatorLog: () => env.operatorLog(), everyMs: 500 });

interface Shape { sharedBuffers: string; imageName?: string; catalog?: string; strategy?: 'supervised' | 'unsupervised' }
const manifest = (shape: Shape) => ({
  apiVersion: 'postgres.keiailab.io/v1alpha1', kind: 'PostgresCluster', metadata: { name: NAME, namespace: ns },
  spec: {
    instances: 3, postgresVersion: 15, primaryUpdateStrategy: shape.strategy ?? 'unsupervised',
    // A longer lease than the default 5 s: on a loaded 2-core test machine a slow apiserver must not fail the primary
    // over mid-rollout (this test is about planned restarts; failover has its own tests).
    ha: { leaseDurationSeconds: 20 },
    ...(shape.imageName ? { imageName: shape.imageName } : {}),
    ...(shape.catalog ? { imageCatalogRef: { kind: 'ImageCatalog', name: shape.catalog } } : {}),
    // shared_buffers needs a restart and, unlike max_connections, no standby must match it: a primary that restarts on
    // its own mid-rollout (fenced under load) cannot pause the replicas' recovery (see ADR 0036).
    postgresql: { parameters: { shared_buffers: shape.sharedBuffers, work_mem: '4MB' } },
  },
});
const catalog = (name: string, image: string) => ({
  apiVersion: 'postgres.keiailab.io/v1alpha1', kind: 'ImageCatalog', metadata: { name, namespace: ns }, spec: { images: [{ major: 15, image }] },
});


/** The superuser on one instance by its Pod IP, verify-full against the cluster CA by the "any instance" name. */
const superuser = async (instance: string): Promise<pg.ClientConfig> =>
  ({ ...(await instanceSql(() => env, ns).superuserConfig(NAME, instance)), connectionTimeoutMillis: 4000, query_timeout: 4000 });
const show = async (instance: string, setting: string) => (await query<{ v: string }>(await superuser(instance), 'SELECT current_setting($1) AS v', [setting]))[0]?.v;
const startedAt = async (instance: string) => (await query<{ t: string }>(await superuser(instance), 'SELECT pg_postmaster_start_time()::text AS t'))[0]?.t ?? '';
const startTimes = async () => Object.fromEntries(await Promise.all(NAMES.map(async (n) => [n, await startedAt(n)] as const)));
/** The instances the primary streams to (pg_stat_replication), sorted. */
const streamingTo = async (primary: string) => (await query<{ n: string }>(await superuser(primary),
  "SELECT application_name AS n FROM pg_stat_replication WHERE state = 'streaming' ORDER BY 1")).map((r) => r.n);
const podImages = async () => Object.fromEntries((await core().listNamespacedPod({ namespace: ns, labelSelector: `${LABEL.cluster}=${NAME}` })).items
  .map((p) => [p.metadata?.name ?? '', p.spec?.containers[0]?.image ?? ''] as const));

/** The bin directory each running postmaster was started from, read from the process itself (argv[0]). */
function postmasterBinaries(): Record<string, string> {
  const out: Record<string, string> = {};
  for (const n of NAMES) {
    const pid = readFileSync(join(env.kubelet.volumeDir(ns, `${n}-data`), 'pgdata', 'postmaster.pid'), 'utf8').split('\n')[0] ?? '';
    out[n] = (readFileSync(`/proc/${pid.trim()}/cmdline`, 'utf8').split('\0')[0] ?? '').replace(/\/postgres$/, '');
  }
  return out;
}

/** The instance Pods whose Ready condition is True (the kubelet's readiness probe on the agent's /readyz). */
const readyPods = async () => (await core().listNamespacedPod({ namespace: ns, labelSelector: `${LABEL.cluster}=${NAME}` })).items
  .filter((p) => !p.metadata?.deletionTimestamp && p.status?.conditions?.some((k) => k.type === 'Ready' && k.status === 'True')).length;

/**
 * While a rollout runs, every 300 ms: how many instance Pods are Ready, how many instances answer a query on their own
 * Pod IP, how many the cluster's status calls ready (the lowest of each is kept), and which instance the cluster's
 * status says is being restarted, in order. Pods Ready is also kept for the rounds inside one instance's restart
 * (status named the same instance before and after the round): there one Pod at a time may be down. A switchover
 * itself takes the replicas' stream away for a moment (the old primary stops before the candidate is promoted and the
 * other replica repointed), and a replica is Ready only while it streams, so the whole-rollout minimum can be lower.
 */
function watchRollout() {
  let stop = false;
  const seen = {
    minPodsReady: NAMES.length, minPodsReadyRestarting: NAMES.length, restartingRounds: 0, minReady: NAMES.length, minServing: NAMES.length,
    rounds: 0, rolling: [] as string[], reasons: new Set<string>(),
  };
  const restarting = (c: PostgresCluster | undefined) => /rolling update: restarting (\S+)/.exec(c?.status?.phaseReason ?? '')?.[1];
  const loop = (async () => {
    while (!stop) {
      const c = await cluster();
      const [podsReady, ok] = await Promise.all([readyPods().catch(() => null), Promise.all(NAMES.map(async (n) => {
        const client = new pg.Client(await superuser(n).catch(() => ({ host: '0.0.0.0', port: 1 })));
        client.on('error', () => undefined);
        try { await client.connect(); await client.query('SELECT 1'); return true; } catch { return false; } finally { await client.end().catch(() => undefined); }
      }))]);
      const after = await cluster();
      seen.minReady = Math.min(seen.minReady, readyCount(c));
      // An unanswered list says nothing about the Pods: that round is not counted.
      if (podsReady !== null) {
        seen.minPodsReady = Math.min(seen.minPodsReady, podsReady);
        const r = restarting(c);
        if (r && r === restarting(after)) { seen.minPodsReadyRestarting = Math.min(seen.minPodsReadyRestarting, podsReady); seen.restartingRounds++; }
      }
      seen.minServing = Math.min(seen.minServing, ok.filter(Boolean).length);
      seen.rounds++;
      for (const x of [c, after]) seen.reasons.add(`${x?.status?.phase}: ${x?.status?.phaseReason ?? ''}`);
      for (const rolling of [restarting(c), restarting(after)]) if (rolling && !seen.rolling.includes(rolling)) seen.rolling.push(rolling);
      await sleep(300);
    }
  })();
  const stopWatch = async () => { stop = true; watches.delete(stopWatch); await loop; return seen; };
  watches.add(stopWatch);
  return stopWatch;
}

test('a 3-instance cluster comes up with its Pods on the named image', async () => {
  await env.apply(manifest({ sharedBuffers: '32MB', imageName: IMAGE_A }));
  const c = await waitFor('Ready on image a', (x) => settled(x) && on(x, IMAGE_A), 300_000);
  assert.equal(c.status?.currentPrimary, 'roll-1');
  assert.match(c.status?.image ?? '', /^registry\.test\/pgop:15-a \(spec\.imageName\)$/);
  assert.deepEqual(await podImages(), Object.fromEntries(NAMES.map((n) => [n, IMAGE_A])));
  assert.deepEqual(postmasterBinaries(), Object.fromEntries(NAMES.map((n) => [n, BIN[IMAGE_A]])));
});

test('a parameter needing a restart re-creates the replicas one at a time, then updates the old primary after a switchover', async () => {
  const before = await startTimes();
  const uids = Object.fromEntries((await core().listNamespacedPod({ namespace: ns, labelSelector: `${LABEL.cluster}=${NAME}` })).items.map((p) => [p.metadata?.name, p.metadata?.uid]));
  const history = new Date().toISOString();
  const stopWatch = watchRollout();
  await env.apply(manifest({ sharedBuffers: '48MB', imageName: IMAGE_A }));
  const c = await waitFor('every instance restarted with shared_buffers 48MB', (x) => settled(x) && switchovers(x, history).length > 0);
  const seen = await stopWatch();
  for (const n of NAMES) assert.equal(await show(n, 'shared_buffers'), '48MB', `SHOW shared_buffers on ${n}`);
  assert.ok(seen.rounds > 10, `the watch ran (${seen.rounds} rounds)`);
  const reasons = [...seen.reasons].join(' | ');
  assert.ok(seen.minServing >= NAMES.length - 1, `never fewer than N-1 instances answering (lowest: ${seen.minServing}); ${reasons}`);
  assert.ok(seen.restartingRounds > 0, 'the watch saw rounds inside a restart');
  assert.ok(seen.minPodsReadyRestarting >= NAMES.length - 1,
    `never fewer than N-1 Pods Ready while an instance restarts (lowest: ${seen.minPodsReadyRestarting}; over the whole rollout: ${seen.minPodsReady}; cluster status: ${seen.minReady}); ${reasons}`);
  // Progress in status, in order: both replicas, then the old primary — unless the switchover already updated it: its
  // demotion restarts the postmaster as a standby, which loads the new value, so nothing is pending on it any more.
  const rolledPrimary = seen.rolling.length === 3;
  assert.deepEqual(seen.rolling, rolledPrimary ? ['roll-2', 'roll-3', 'roll-1'] : ['roll-2', 'roll-3'], `status named the instance being rolled: ${reasons}`);
  assert.equal(promotedFailovers(c, history).length, 0, 'no failover promoted anything: the primary changed by the rollout\'s switchover only');
  const [switchover, ...more] = switchovers(c, history);
  assert.equal(more.length, 0, 'one switchover');
  assert.equal(switchover?.outcome, 'promoted');
  assert.equal(switchover?.from, 'roll-1');
  assert.notEqual(c.status?.currentPrimary, 'roll-1');
  const after = await startTimes();
  for (const n of NAMES) assert.notEqual(after[n], before[n], `${n} restarted`);
  const replicasLast = Math.max(...['roll-2', 'roll-3'].map((n) => Date.parse(after[n] ?? '')));
  assert.ok(Date.parse(after['roll-1'] ?? '') > replicasLast, `the old primary restarted last (${JSON.stringify(after)})`);
  const now = Object.fromEntries((await core().listNamespacedPod({ namespace: ns, labelSelector: `${LABEL.cluster}=${NAME}` })).items.map((p) => [p.metadata?.name, p.metadata?.uid]));
  for (const n of ['roll-2', 'roll-3']) assert.notEqual(now[n], uids[n], `${n}'s Pod was re-created`);
  if (rolledPrimary) assert.notEqual(now['roll-1'], uids['roll-1'], 'the old primary\'s Pod was re-created');
  // Both replicas, the old primary among them, stream from the new primary.
  const primary = c.status?.currentPrimary ?? '';
  const replicas = NAMES.filter((n) => n !== primary);
  assert.deepEqual(await eventually(() => streamingTo(primary), (v) => v.join() === replicas.join(), 60_000), replicas);
});

test('an imageName change re-creates every Pod on the new image, primary last, rows kept', async () => {
  const primary = (await cluster())?.status?.currentPrimary ?? '';
  await query(await superuser(primary), 'CREATE TABLE kept AS SELECT g AS id FROM generate_series(1, 5000) g');
  const history = new Date().toISOString();
  const stopWatch = watchRollout();
  await env.apply(manifest({ sharedBuffers: '48MB', imageName: IMAGE_B }));
  const c = await waitFor('every instance on image b', (x) => settled(x) && on(x, IMAGE_B) && switchovers(x, history).length > 0);
  const seen = await stopWatch();
  assert.deepEqual(await podImages(), Object.fromEntries(NAMES.map((n) => [n, IMAGE_B])), `every Pod spec names the new image; ${[...seen.reasons].join(' | ')}`);
  assert.deepEqual(postmasterBinaries(), Object.fromEntries(NAMES.map((n) => [n, BIN[IMAGE_B]])), 'every postmaster runs the new image\'s binaries');
  assert.equal(promotedFailovers(c, history).length, 0, 'no failover promoted anything');
  assert.deepEqual(switchovers(c, history).map((f) => [f.from, f.outcome]), [[primary, 'promoted']], 'one switchover: the primary went last');
  assert.equal(seen.rolling.at(-1), primary, `the old primary was rolled last: ${seen.rolling.join(', ')}`);
  assert.ok(seen.minServing >= NAMES.length - 1, `never fewer than N-1 instances answering (lowest: ${seen.minServing})`);
  assert.match(c.status?.image ?? '', /^registry\.test\/pgop:15-b/);
  for (const n of NAMES) assert.equal((await query<{ n: string }>(await superuser(n), 'SELECT count(*)::text AS n FROM kept'))[0]?.n, '5000', `rows kept on ${n}`);
});

test('switching to an ImageCatalog, then editing its entry, rolls the cluster onto each image', async () => {
  await env.apply(catalog('pg-images', IMAGE_C));
  await env.apply(manifest({ sharedBuffers: '48MB', catalog: 'pg-images' }));
  let c = await waitFor('every instance on the catalog image (c)', (x) => settled(x) && on(x, IMAGE_C));
  assert.match(c.status?.image ?? '', /^registry\.test\/pgop:15-c \(ImageCatalog\/pg-images/);
  assert.deepEqual(postmasterBinaries(), Object.fromEntries(NAMES.map((n) => [n, BIN[IMAGE_C]])));
  await env.apply(catalog('pg-images', IMAGE_A));
  c = await waitFor('every instance on the edited catalog image (a)', (x) => settled(x) && on(x, IMAGE_A));
  assert.deepEqual(await podImages(), Object.fromEntries(NAMES.map((n) => [n, IMAGE_A])));
  assert.deepEqual(postmasterBinaries(), Object.fromEntries(NAMES.map((n) => [n, BIN[IMAGE_A]])));
  for (const n of NAMES) assert.equal((await query<{ n: string }>(await superuser(n), 'SELECT count(*)::text AS n FROM kept'))[0]?.n, '5000', `rows kept on ${n}`);
});

/** `kubectl pgop ARGS` the way a user runs it: the plugin on the PATH, the kubeconfig from the environment. */
function plugin(args: string[]): Promise<{ status: number; stdout: string; stderr: string }> {
  const dir = join(env.work, 'bin');
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'kubectl-pgop'), `#!/bin/sh\nexec "${process.execPath}" "${join(repoRoot, 'dist', 'bin', 'kubectl-pgop.js')}" "$@"\n`);
  chmodSync(join(dir, 'kubectl-pgop'), 0o755);
  return new Promise((resolve) => {
    execFile(kubectlBin, ['pgop', ...args], { encoding: 'utf8', timeout: 600_000, env: { ...process.env, KUBECONFIG: env.cp.kubeconfig, PATH: `${dir}:${process.env.PATH ?? ''}` } },
      (err, stdout, stderr) => resolve({ status: err ? (typeof err.code === 'number' ? err.code : 1) : 0, stdout, stderr }));
  });
}

test('supervised: the replicas roll onto the new image, then the primary waits with a condition for kubectl pgop switchover', async () => {
  const before = await cluster();
  const primary = before?.status?.currentPrimary ?? '';
  assert.ok(primary, 'a primary before the change');
  const history = new Date().toISOString();
  await env.apply(manifest({ sharedBuffers: '48MB', imageName: IMAGE_B, strategy: 'supervised' }));
  const pending = (x: PostgresCluster) => x.status?.conditions?.find((k) => k.type === 'PrimaryUpdatePending');
  const waiting = await waitFor('PrimaryUpdatePending=True', (x) => pending(x)?.status === 'True');
  assert.equal(waiting.status?.phase, 'Upgrading');
  assert.equal(pending(waiting)?.reason, 'WaitingForSwitchover');
  assert.match(pending(waiting)?.message ?? '', /kubectl pgop switchover/);
  assert.equal(waiting.status?.currentPrimary, primary, 'no switchover without the user');
  const images = await podImages();
  const binaries = postmasterBinaries();
  for (const n of NAMES.filter((x) => x !== primary)) {
    assert.equal(images[n], IMAGE_B, `replica ${n}'s Pod names the new image`);
    assert.equal(binaries[n], BIN[IMAGE_B], `replica ${n} runs the new image's binaries`);
  }
  assert.equal(images[primary], IMAGE_A, 'the primary\'s Pod still names the old image');
  assert.equal(binaries[primary], BIN[IMAGE_A], 'the primary still runs the old image\'s binaries');
  // Still waiting a while later: nothing but the user moves the primary.
  await sleep(10_000);
  const still = await cluster();
  assert.equal(pending(still ?? waiting)?.status, 'True', 'still waiting for the switchover');
  assert.equal(still?.status?.currentPrimary, primary);
  assert.equal(switchovers(still ?? waiting, history).length, 0, 'no switchover yet');

  const r = await plugin(['switchover', NAME, '--timeout', '480']);
  assert.equal(r.status, 0, `kubectl pgop switchover: ${r.stdout}\n${r.stderr}`);
  const c = await waitFor('every instance on image b after the switchover', (x) => settled(x) && on(x, IMAGE_B));
  assert.deepEqual(await podImages(), Object.fromEntries(NAMES.map((n) => [n, IMAGE_B])));
  assert.deepEqual(postmasterBinaries(), Object.fromEntries(NAMES.map((n) => [n, BIN[IMAGE_B]])));
  assert.deepEqual(switchovers(c, history).map((f) => [f.from, f.outcome]), [[primary, 'promoted']], 'the user\'s switchover moved the primary');
  assert.notEqual(c.status?.currentPrimary, primary);
  assert.notEqual(c.status?.conditions?.find((k) => k.type === 'PrimaryUpdatePending')?.status, 'True', 'no longer waiting once the rollout ends');
  for (const n of NAMES) assert.equal((await query<{ n: string }>(await superuser(n), 'SELECT count(*)::text AS n FROM kept'))[0]?.n, '5000', `rows kept on ${n}`);
});
