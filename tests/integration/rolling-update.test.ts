// Rolling restarts and image updates on the local platform (issue #11, ADR 0026), on real PostgreSQL 15 processes:
// a reload-only parameter applies in place; a parameter needing a restart rolls one instance at a time under
// pgbench load, never leaving fewer than N-1 instances serving, with the old primary last (after a switchover);
// an imageName change (a bin directory of links to the installed PostgreSQL 15) moves every postmaster; with
// primaryUpdateStrategy: supervised and an ImageCatalog, the primary waits with a condition for `pgop local
// switchover`; and editing the catalog rolls the cluster again.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { LocalCluster, stateDir } from '../helpers/cli.js';
import { query } from '../helpers/sql.js';
import { pgBinDir } from '../../adapters/local/postgres-install.js';
import type { PostgresCluster } from '../../crds/postgrescluster.js';

// No re-read on a timer during these tests: an image or catalog edit must reach the cluster through the runtime's
// change feed (the operator inherits this environment).
process.env.PGOP_IMAGE_WATCH_MS = String(3_600_000);

const state = stateDir('pgop-roll-');
const cluster = new LocalCluster(state);
after(() => cluster.down());

const INSTALLED = pgBinDir(15);
const NAMES = ['demo-1', 'demo-2', 'demo-3'];

/** Images live where the postgres OS user can reach them (the state directory is private to the test's user). */
const images = mkdtempSync(join(tmpdir(), 'pgop-roll-images-'));
chmodSync(images, 0o755);
after(() => rmSync(images, { recursive: true, force: true }));

/** A PostgreSQL "image" for the local platform: a bin directory whose entries link to the installed ones. */
function binCopy(name: string): string {
  const dir = join(images, name, 'bin');
  mkdirSync(dir, { recursive: true, mode: 0o755 });
  for (const f of readdirSync(INSTALLED)) symlinkSync(join(INSTALLED, f), join(dir, f));
  return dir;
}

interface Shape { parameters: Record<string, string>; imageName?: string; catalog?: string; strategy?: 'supervised' | 'unsupervised' }
function writeManifest(shape: Shape): string {
  const params = Object.entries(shape.parameters).map(([k, v]) => `      ${k}: "${v}"`).join('\n');
  const file = join(state, 'demo.yaml');
  writeFileSync(file, [
    'apiVersion: postgres.keiailab.io/v1alpha1', 'kind: PostgresCluster', 'metadata:', '  name: demo', 'spec:',
    '  instances: 3', '  postgresVersion: 15', `  primaryUpdateStrategy: ${shape.strategy ?? 'unsupervised'}`,
    ...(shape.imageName ? [`  imageName: ${shape.imageName}`] : []),
    ...(shape.catalog ? ['  imageCatalogRef:', '    kind: ImageCatalog', `    name: ${shape.catalog}`] : []),
    '  postgresql:', '    parameters:', params, '',
  ].join('\n'));
  return file;
}
const apply = (shape: Shape) => cluster.ok(['local', 'apply', '-f', writeManifest(shape)]);

function applyCatalog(name: string, image: string): Promise<string> {
  const file = join(state, `${name}.yaml`);
  writeFileSync(file, `apiVersion: postgres.keiailab.io/v1alpha1\nkind: ImageCatalog\nmetadata:\n  name: ${name}\nspec:\n  images:\n    - { major: 15, image: "${image}" }\n`);
  return cluster.ok(['local', 'apply', '-f', file]);
}

const superuser = (instance: string) =>
  `postgresql://postgres:${encodeURIComponent(cluster.secret('superuser'))}@127.0.0.1:${cluster.instanceSpec(instance).port}/postgres?${cluster.tlsQuery()}`;
const show = async (instance: string, setting: string) =>
  (await query<{ v: string }>(superuser(instance), `SELECT current_setting($1) AS v`, [setting]))[0]?.v;
const startedAt = async (instance: string) =>
  (await query<{ t: string }>(superuser(instance), 'SELECT pg_postmaster_start_time()::text AS t'))[0]?.t ?? '';
const startTimes = async () => Object.fromEntries(await Promise.all(NAMES.map(async (n) => [n, await startedAt(n)] as const)));

/** The bin directory each running postmaster was started from, read from the process itself (argv[0]). */
async function postmasterBinaries(): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  for (const n of NAMES) {
    const s = await cluster.agentStatus<{ postgresPid: number | null }>(n);
    const argv0 = s.postgresPid ? readFileSync(`/proc/${s.postgresPid}/cmdline`, 'utf8').split('\0')[0] ?? '' : '';
    out[n] = argv0.replace(/\/postgres$/, '');
  }
  return out;
}

const settled = (c: PostgresCluster) => c.status?.phase === 'Ready' && (c.status.instances ?? []).length === 3
  && (c.status.instances ?? []).every((i) => i.ready) && (c.status.pendingRestart ?? []).length === 0;
const on = (c: PostgresCluster, image: string) => (c.status?.instances ?? []).every((i) => i.image === image);

/** Counts, every 200 ms, the instances that answer a query on their own port; keeps the lowest count seen. */
function watchServing() {
  let stop = false;
  let min = NAMES.length;
  let rounds = 0;
  const loop = (async () => {
    while (!stop) {
      const ok = await Promise.all(NAMES.map(async (n) => {
        const c = new pg.Client({ connectionString: superuser(n), connectionTimeoutMillis: 4000, query_timeout: 4000 });
        c.on('error', () => undefined);
        try { await c.connect(); await c.query('SELECT 1'); return true; } catch { return false; } finally { await c.end().catch(() => undefined); }
      }));
      min = Math.min(min, ok.filter(Boolean).length);
      rounds++;
      await new Promise((r) => setTimeout(r, 200));
    }
  })();
  return async () => { stop = true; await loop; return { min, rounds }; };
}

/** pgbench against the read-write endpoint, started again whenever a switchover breaks its connections. */
function pgbenchLoad(uri: string) {
  let stop = false;
  let child: ChildProcess | null = null;
  let committed = 0;
  const loop = (async () => {
    while (!stop) {
      await new Promise<void>((resolve) => {
        child = spawn(join(INSTALLED, 'pgbench'), ['-n', '-c', '4', '-j', '2', '-T', '600', '-P', '1', uri], { stdio: ['ignore', 'pipe', 'pipe'] });
        let out = '';
        child.stdout?.on('data', (d: Buffer) => { out += d.toString(); });
        child.stderr?.on('data', (d: Buffer) => { out += d.toString(); });
        child.on('exit', () => {
          const m = /number of transactions actually processed: (\d+)/.exec(out);
          committed += m ? Number(m[1]) : 0;
          // Progress lines count too when a client aborted (the summary then may be missing).
          if (!m) for (const p of out.matchAll(/progress: [\d.]+ s, ([\d.]+) tps/g)) committed += Math.floor(Number(p[1]));
          resolve();
        });
      });
      if (!stop) await new Promise((r) => setTimeout(r, 300));
    }
  })();
  return async () => { stop = true; (child as ChildProcess | null)?.kill('SIGINT'); await loop; return committed; };
}

const base = { max_connections: '100', work_mem: '4MB' };

test('a 3-instance cluster comes up on the installed PostgreSQL 15', async () => {
  await cluster.ok(['local', 'up', '-f', writeManifest({ parameters: base }), '--wait', '--timeout', '240']);
  const c = await cluster.waitFor('Ready on the installed binaries', (x) => settled(x) && on(x, INSTALLED), 120_000);
  assert.equal(c.status?.currentPrimary, 'demo-1');
  assert.match(c.status?.image ?? '', new RegExp(`^${INSTALLED}`));
});

test('a reload-only parameter is applied on every instance in place, without a restart', async () => {
  const before = await startTimes();
  await apply({ parameters: { ...base, work_mem: '8MB' } });
  for (const n of NAMES) {
    const until = Date.now() + 60_000;
    while ((await show(n, 'work_mem')) !== '8MB' && Date.now() < until) await new Promise((r) => setTimeout(r, 300));
    assert.equal(await show(n, 'work_mem'), '8MB', n);
  }
  await cluster.waitFor('Ready', settled, 60_000);
  assert.deepEqual(await startTimes(), before, 'no postmaster restarted');
});

test('a parameter needing a restart rolls every instance under pgbench load, N-1 serving throughout, the primary last', async () => {
  const app = await cluster.uri('primary');
  const init = spawn(join(INSTALLED, 'pgbench'), ['-i', '-s', '1', '-q', app], { stdio: 'ignore' });
  assert.equal(await new Promise((r) => init.on('exit', r)), 0, 'pgbench -i');
  const before = await startTimes();
  const history = (await cluster.get()).status?.failovers?.length ?? 0;
  const stopLoad = pgbenchLoad(app);
  const stopWatch = watchServing();
  await new Promise((r) => setTimeout(r, 1500));
  await apply({ parameters: { ...base, work_mem: '8MB', max_connections: '120' } });
  const c = await cluster.waitFor('every instance restarted with max_connections 120', (x) => settled(x) && (x.status?.failovers?.length ?? 0) > history, 150_000);
  const serving = await stopWatch();
  const committed = await stopLoad();
  for (const n of NAMES) assert.equal(await show(n, 'max_connections'), '120', `SHOW max_connections on ${n}`);
  assert.ok(serving.rounds > 10, `the serving watch ran (${serving.rounds} rounds)`);
  assert.ok(serving.min >= NAMES.length - 1, `never fewer than N-1 instances serving (lowest: ${serving.min})`);
  assert.ok(committed > 0, 'pgbench committed transactions during the rollout');
  const after = await startTimes();
  for (const n of NAMES) assert.notEqual(after[n], before[n], `${n} restarted`);
  // The old primary restarted last: after a switchover to an updated replica, and after every replica restarted.
  const switchover = c.status?.failovers?.at(-1);
  assert.equal(switchover?.kind, 'switchover');
  assert.equal(switchover?.outcome, 'promoted');
  assert.equal(switchover?.from, 'demo-1');
  assert.notEqual(c.status?.currentPrimary, 'demo-1');
  const replicasLast = Math.max(...['demo-2', 'demo-3'].map((n) => Date.parse(after[n] ?? '')));
  assert.ok(Date.parse(after['demo-1'] ?? '') > replicasLast, `the old primary restarted last (${JSON.stringify(after)})`);
});

test('an imageName change re-creates every instance on the new bin directory', async () => {
  const image = binCopy('copy-a');
  const history = (await cluster.get()).status?.failovers?.length ?? 0;
  await apply({ parameters: { ...base, work_mem: '8MB', max_connections: '120' }, imageName: image });
  const c = await cluster.waitFor('every instance on the copied binaries', (x) => settled(x) && on(x, image), 150_000);
  assert.deepEqual(await postmasterBinaries(), Object.fromEntries(NAMES.map((n) => [n, image])));
  assert.equal((c.status?.failovers?.length ?? 0), history + 1, 'one switchover: the primary went last');
});

test('supervised: the replicas roll from an ImageCatalog, then the primary waits with a condition for pgop local switchover', async () => {
  const image = binCopy('catalog-b');
  await applyCatalog('pg-images', image);
  const params = { ...base, work_mem: '8MB', max_connections: '120' };
  const before = await cluster.get();
  const primary = before.status?.currentPrimary ?? '';
  await apply({ parameters: params, catalog: 'pg-images', strategy: 'supervised' });
  const waiting = await cluster.waitFor('PrimaryUpdatePending', (x) =>
    x.status?.conditions?.some((k) => k.type === 'PrimaryUpdatePending' && k.status === 'True') === true, 150_000);
  assert.equal(waiting.status?.phase, 'Upgrading');
  assert.match(waiting.status?.conditions?.find((k) => k.type === 'PrimaryUpdatePending')?.message ?? '', /pgop local switchover demo/);
  const binaries = await postmasterBinaries();
  for (const n of NAMES.filter((x) => x !== primary)) assert.equal(binaries[n], image, `replica ${n} on the catalog image`);
  assert.notEqual(binaries[primary], image, 'the primary still runs the old image');
  assert.equal(waiting.status?.currentPrimary, primary, 'no switchover without the user');
  await cluster.ok(['local', 'switchover', 'demo']);
  await cluster.waitFor('every instance on the catalog image', (x) => settled(x) && on(x, image), 150_000);
  assert.deepEqual(await postmasterBinaries(), Object.fromEntries(NAMES.map((n) => [n, image])));
});

test('editing the ImageCatalog rolls the cluster that uses it', async () => {
  const image = binCopy('catalog-c');
  await apply({ parameters: { ...base, work_mem: '8MB', max_connections: '120' }, catalog: 'pg-images', strategy: 'unsupervised' });
  await cluster.waitFor('Ready', settled, 60_000);
  await applyCatalog('pg-images', image);
  await cluster.waitFor('every instance on the edited catalog image', (x) => settled(x) && on(x, image), 150_000);
  assert.deepEqual(await postmasterBinaries(), Object.fromEntries(NAMES.map((n) => [n, image])));
});
