import { test } from 'node:test';
import assert from 'node:assert/strict';
import { resolveClusterImage, ImageNotFound } from './resolve-image.js';
import type { Resource } from '../../crds/definition.js';
import type { ResourceReader } from '../../actors/ports/resource-store.js';

const catalog = (kind: string, name: string, namespace: string | undefined, images: { major: number; image: string }[]): Resource =>
  ({ apiVersion: 'postgres.keiailab.io/v1alpha1', kind, metadata: { name, ...(namespace ? { namespace } : {}) }, spec: { images } }) as Resource;
const store = (objects: Resource[]): ResourceReader => ({
  get: async (k) => objects.find((o) => o.kind === k.kind && o.metadata.name === k.name),
  list: async (kind) => objects.filter((o) => o.kind === kind),
});

test('imageName, a namespaced catalog entry for the major, a cluster catalog, or the installed default', async () => {
  const s = store([
    catalog('ImageCatalog', 'imgs', 'default', [{ major: 15, image: '/opt/a/bin' }, { major: 16, image: '/opt/b/bin' }]),
    catalog('ImageCatalog', 'imgs', 'other', [{ major: 15, image: '/opt/wrong/bin' }]),
    catalog('ClusterImageCatalog', 'global', undefined, [{ major: 15, image: 'ghcr.io/x:15' }]),
  ]);
  assert.deepEqual(await resolveClusterImage({ instances: 1, primaryUpdateStrategy: 'unsupervised', imageName: '/x' }, 'default', s), { image: '/x', source: 'spec.imageName' });
  assert.deepEqual(await resolveClusterImage({ instances: 1, primaryUpdateStrategy: 'unsupervised', postgresVersion: 15, imageCatalogRef: { kind: 'ImageCatalog', name: 'imgs' } }, 'default', s),
    { image: '/opt/a/bin', source: 'ImageCatalog/imgs major 15' });
  assert.equal((await resolveClusterImage({ instances: 1, primaryUpdateStrategy: 'unsupervised', postgresVersion: 15, imageCatalogRef: { kind: 'ClusterImageCatalog', name: 'global' } }, 'ns', s)).image, 'ghcr.io/x:15');
  assert.equal((await resolveClusterImage({ instances: 1, primaryUpdateStrategy: 'unsupervised', postgresVersion: 15 }, 'default', s)).image, null);
  await assert.rejects(resolveClusterImage({ instances: 1, primaryUpdateStrategy: 'unsupervised', postgresVersion: 17, imageCatalogRef: { kind: 'ImageCatalog', name: 'imgs' } }, 'default', s),
    (e: unknown) => e instanceof ImageNotFound && /has no image for PostgreSQL 17/.test(e.message));
  await assert.rejects(resolveClusterImage({ instances: 1, primaryUpdateStrategy: 'unsupervised', postgresVersion: 15, imageCatalogRef: { kind: 'ImageCatalog', name: 'imgs' } }, 'third', s),
    (e: unknown) => e instanceof ImageNotFound && /not found in namespace third/.test(e.message));
});
