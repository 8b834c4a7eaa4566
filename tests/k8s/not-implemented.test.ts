// On the real apiserver: kinds that are served but have no controller yet are accepted by `kubectl apply` and the
// operator writes Ready=False, reason=NotImplemented into their status subresource. The image catalogs, which have a
// controller, publish their images in status on the same apiserver.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, execFile, type ChildProcess } from 'node:child_process';
import { mkdtempSync, openSync, closeSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startControlPlane, kubectlBin, type ControlPlane } from './harness/control-plane.js';
import { startRedis, stopRedis } from '../../adapters/local/redis-server.js';
import { StateDir } from '../../adapters/local/state-dir.js';
import { definitionFor } from '../../crds/registry.js';
import { registrations, servedKinds } from '../../bin/kinds.js';
import { repoRoot, pgopBin } from '../helpers/cli.js';
import { eventually } from '../helpers/sql.js';

let cp: ControlPlane;
let redis: { url: string; pid: number };
let operator: ChildProcess | undefined;
const work = mkdtempSync(join(tmpdir(), 'pgop-k8s-notimpl-'));
const kubectl = (args: string[]) => new Promise<{ status: number; stdout: string; stderr: string }>((resolve) => {
  execFile(kubectlBin, ['--kubeconfig', cp.kubeconfig, ...args], { encoding: 'utf8', timeout: 120_000 }, (err, stdout, stderr) => {
    resolve({ status: err ? (typeof err.code === 'number' ? err.code : 1) : 0, stdout, stderr });
  });
});

const samples: Record<string, string> = {
  BackupJob: 'backupjob.yaml', ScheduledBackup: 'scheduledbackup.yaml', PostgresDatabase: 'postgresdatabase.yaml',
  PostgresUser: 'postgresuser.yaml', Pooler: 'pooler.yaml', ImageCatalog: 'imagecatalog.yaml',
  ClusterImageCatalog: 'clusterimagecatalog.yaml', ShardRange: 'shardrange.yaml', ShardSplitJob: 'shardsplitjob.yaml',
};
const controlled = new Set(registrations.map((r) => r.binding.kind));
const waiting = servedKinds.filter((k) => !controlled.has(k));

before(async () => {
  cp = await startControlPlane();
  assert.equal((await kubectl(['apply', '--server-side', '-f', join(repoRoot, 'chart', 'crds')])).status, 0);
  assert.equal((await kubectl(['wait', '--for=condition=Established', '--timeout=60s', 'crd', '--all'])).status, 0);
  redis = await startRedis(new StateDir(join(work, 'redis-state')));
  const log = openSync(join(work, 'operator.log'), 'a');
  operator = spawn(process.execPath, [pgopBin, 'operator', '--platform', 'kubernetes', '--kubeconfig', cp.kubeconfig, '--namespace', 'default', '--metrics-port', '0'], {
    env: { ...process.env, REDIS_URL: redis.url, POD_NAME: 'operator-a' }, stdio: ['ignore', log, log],
  });
  closeSync(log);
}, { timeout: 10 * 60_000 });

after(async () => {
  if (operator?.exitCode === null) operator.kill('SIGKILL');
  await stopRedis(redis?.pid);
  await cp?.stop();
  if (process.env.PGOP_TEST_KEEP_STATE !== '1') rmSync(work, { recursive: true, force: true });
});

interface Condition { type: string; status: string; reason: string; message: string; observedGeneration?: number }
interface Obj { metadata: { name: string; generation?: number }; status?: { conditions?: Condition[] } }

test('kubectl apply of a kind without a controller yields Ready=False, reason=NotImplemented in its status', async () => {
  assert.ok(waiting.length > 0, 'every kind has a controller: delete this test');
  for (const kind of waiting) {
    assert.ok(samples[kind], `no sample listed for ${kind}`);
    const r = await kubectl(['apply', '-f', join(repoRoot, 'crds', 'samples', samples[kind] as string)]);
    assert.equal(r.status, 0, `${kind}: ${r.stderr}`);
  }
  for (const kind of waiting) {
    const plural = definitionFor(kind)?.plural ?? '';
    const list = await eventually(async () => JSON.parse((await kubectl(['get', `${plural}.postgres.keiailab.io`, '-A', '-o', 'json'])).stdout || '{"items":[]}') as { items: Obj[] },
      (v) => v.items.length > 0 && v.items.every((o) => o.status?.conditions?.some((c) => c.reason === 'NotImplemented')), 60_000)
      .catch((e: unknown) => { throw new Error(`${kind}: ${(e as Error).message}\n${readFileSync(join(work, 'operator.log'), 'utf8').split('\n').slice(-30).join('\n')}`); });
    const ready = list.items[0]?.status?.conditions?.find((c) => c.type === 'Ready');
    assert.equal(ready?.status, 'False', kind);
    assert.equal(ready?.reason, 'NotImplemented', kind);
    assert.match(ready?.message ?? '', new RegExp(`no controller for ${kind}`));
  }
});

interface Catalog extends Obj { status?: Obj['status'] & { phase?: string; images?: Record<string, string>; observedGeneration?: number } }
const catalog = async (plural: string) => JSON.parse((await kubectl(['get', `${plural}.postgres.keiailab.io`, 'pgop-images', '-o', 'json'])).stdout || '{}') as Catalog;
const applyStdin = (yaml: string) => new Promise<{ status: number; stdout: string; stderr: string }>((resolve) => {
  const child = execFile(kubectlBin, ['--kubeconfig', cp.kubeconfig, 'apply', '-f', '-'], { encoding: 'utf8', timeout: 120_000 }, (err, stdout, stderr) => {
    resolve({ status: err ? (typeof err.code === 'number' ? err.code : 1) : 0, stdout, stderr });
  });
  child.stdin?.end(yaml);
});
const catalogYaml = (kind: string, images: [number, string][]) =>
  `apiVersion: postgres.keiailab.io/v1alpha1\nkind: ${kind}\nmetadata:\n  name: pgop-images\n  namespace: default\nspec:\n  images:\n${images.map(([m, i]) => `    - { major: ${m}, image: "${i}" }\n`).join('')}`;

test('the catalog kinds on Kubernetes: Ready with status.images, an edit republishes them, bad entries are refused by the apiserver naming the field', async () => {
  for (const file of ['imagecatalog.yaml', 'clusterimagecatalog.yaml']) {
    const r = await kubectl(['apply', '-f', join(repoRoot, 'crds', 'samples', file)]);
    assert.equal(r.status, 0, r.stderr);
  }
  const expected: Record<string, Record<string, string>> = {
    imagecatalogs: { 16: 'ghcr.io/keiailab/pgop-postgres:16', 17: 'ghcr.io/keiailab/pgop-postgres:17' },
    clusterimagecatalogs: { 15: 'ghcr.io/keiailab/pgop-postgres:15', 18: 'ghcr.io/keiailab/pgop-postgres:18' },
  };
  for (const [plural, images] of Object.entries(expected)) {
    const c = await eventually(() => catalog(plural), (v) => v.status?.phase === 'Ready', 60_000);
    assert.deepEqual(c.status?.images, images, plural);
    const ready = c.status?.conditions?.find((x) => x.type === 'Ready');
    assert.equal(ready?.status, 'True', plural);
    assert.equal(ready?.reason, 'ImagesValid', plural);
  }
  const edited = await applyStdin(catalogYaml('ImageCatalog', [[17, 'ghcr.io/keiailab/pgop-postgres:17.2']]));
  assert.equal(edited.status, 0, edited.stderr);
  const c = await eventually(() => catalog('imagecatalogs'), (v) => v.status?.observedGeneration === 2, 60_000);
  assert.deepEqual(c.status?.images, { 17: 'ghcr.io/keiailab/pgop-postgres:17.2' });
  const major = await applyStdin(catalogYaml('ClusterImageCatalog', [[14, 'ghcr.io/keiailab/pgop-postgres:14']]));
  assert.notEqual(major.status, 0);
  assert.match(major.stderr, /spec\.images\[0\]\.major/);
  const image = await applyStdin(catalogYaml('ClusterImageCatalog', [[17, 'Bad Image']]));
  assert.notEqual(image.status, 0);
  assert.match(image.stderr, /spec\.images\[0\]\.image/);
  assert.equal((await catalog('clusterimagecatalogs')).metadata.generation, 1, 'the stored catalog stays');
});
