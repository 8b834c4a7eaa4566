// ImageCatalog and ClusterImageCatalog have a controller (issue #11): on the local platform both report Ready with
// status.images (major → image) and a Ready condition, follow an edit, and an invalid entry is refused at the door
// with the field and the fix. (Entries invalid past admission are the machine test's: the store admits like the CRD.)
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { LocalCluster, stateDir, sample } from '../helpers/cli.js';
import { eventually } from '../helpers/sql.js';

const cluster = new LocalCluster(stateDir('pgop-imagecatalog-'));
after(() => cluster.down());

interface Condition { type: string; status: string; reason: string; message: string; observedGeneration?: number }
interface Catalog { metadata: { name: string; generation?: number }; status?: { phase?: string; images?: Record<string, string>; conditions?: Condition[]; observedGeneration?: number } }

const catalogs = async (kind: string) => (JSON.parse(await cluster.ok(['local', 'get', kind, '-o', 'json'])) as { items: Catalog[] }).items;
const ready = (c: Catalog | undefined) => c?.status?.conditions?.find((x) => x.type === 'Ready');

function manifest(kind: string, images: [number, string][]): string {
  const file = join(cluster.state, `${kind}-${images.map(([m]) => m).join('-')}.yaml`);
  writeFileSync(file, `apiVersion: postgres.keiailab.io/v1alpha1\nkind: ${kind}\nmetadata:\n  name: pgop-images\nspec:\n  images:\n${images.map(([m, i]) => `    - { major: ${m}, image: "${i}" }\n`).join('')}`);
  return file;
}

test('both catalog kinds report Ready with status.images, never NotImplemented', async () => {
  await cluster.ok(['local', 'up', '-f', sample('imagecatalog.yaml'), '-f', sample('clusterimagecatalog.yaml')]);
  const expected: Record<string, Record<string, string>> = {
    ImageCatalog: { 16: 'ghcr.io/keiailab/pgop-postgres:16', 17: 'ghcr.io/keiailab/pgop-postgres:17' },
    ClusterImageCatalog: { 15: 'ghcr.io/keiailab/pgop-postgres:15', 18: 'ghcr.io/keiailab/pgop-postgres:18' },
  };
  for (const [kind, images] of Object.entries(expected)) {
    const [c] = await eventually(() => catalogs(kind), (v) => v[0]?.status?.phase === 'Ready', 30_000);
    assert.deepEqual(c?.status?.images, images, kind);
    assert.equal(ready(c)?.status, 'True', kind);
    assert.equal(ready(c)?.reason, 'ImagesValid', kind);
    assert.equal(c?.status?.observedGeneration, 1, kind);
    assert.ok(!c?.status?.conditions?.some((x) => x.reason === 'NotImplemented'), kind);
  }
});

test('an edited catalog publishes its new images', async () => {
  await cluster.ok(['local', 'apply', '-f', manifest('ImageCatalog', [[16, 'ghcr.io/keiailab/pgop-postgres:16.9'], [18, '/usr/lib/postgresql/15/bin']])]);
  const [c] = await eventually(() => catalogs('ImageCatalog'), (v) => v[0]?.status?.observedGeneration === 2, 30_000);
  assert.equal(c?.status?.phase, 'Ready');
  assert.deepEqual(c?.status?.images, { 16: 'ghcr.io/keiailab/pgop-postgres:16.9', 18: '/usr/lib/postgresql/15/bin' });
});

test('an unsupported major or a malformed image is refused naming the field and the fix; the stored catalog stays', async () => {
  const major = await cluster.run(['local', 'apply', '-f', manifest('ClusterImageCatalog', [[14, 'ghcr.io/keiailab/pgop-postgres:14']])]);
  assert.notEqual(major.code, 0);
  assert.match(major.stderr + major.stdout, /spec\.images\[0\]\.major/);
  const image = await cluster.run(['local', 'apply', '-f', manifest('ClusterImageCatalog', [[17, 'Bad Image']])]);
  assert.notEqual(image.code, 0);
  assert.match(image.stderr + image.stdout, /spec\.images\[0\]\.image: must be an image reference registry\/repository/);
  const [c] = await catalogs('ClusterImageCatalog');
  assert.equal(c?.metadata.generation, 1);
  assert.equal(c?.status?.phase, 'Ready');
});
