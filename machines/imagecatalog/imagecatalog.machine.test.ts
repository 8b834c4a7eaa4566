// The imageCatalog machine: valid entries are published as major → image with Ready=True; an unsupported major, a
// major listed twice or a malformed image is Invalid naming the field and the fix; a corrected spec is Ready again.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createActor } from 'xstate';
import { imageCatalogMachine } from './imagecatalog.machine.js';
import { selectImageCatalogStatus } from './imagecatalog.selectors.js';
import { catalogProblems, IMAGE_REFERENCE } from './imagecatalog.logic.js';
import type { ImageCatalogSpec } from './imagecatalog.types.js';

const spec = (...images: [number, string][]): ImageCatalogSpec => ({ images: images.map(([major, image]) => ({ major, image })) });
const start = (s: ImageCatalogSpec) =>
  createActor(imageCatalogMachine, { input: { kind: 'ClusterImageCatalog', namespace: '', name: 'pg-images', spec: s, generation: 1 } }).start();

test('valid entries are Ready with status.images major → image', () => {
  const actor = start(spec([17, 'ghcr.io/keiailab/pgop-postgres:17'], [16, 'ghcr.io/keiailab/pgop-postgres@sha256:' + 'a'.repeat(64)]));
  const s = selectImageCatalogStatus(actor.getSnapshot());
  assert.equal(s.phase, 'Ready');
  assert.deepEqual(s.images, { 16: `ghcr.io/keiailab/pgop-postgres@sha256:${'a'.repeat(64)}`, 17: 'ghcr.io/keiailab/pgop-postgres:17' });
  assert.deepEqual(Object.keys(s.images ?? {}), ['16', '17']);
  assert.equal(s.conditions[0]?.type, 'Ready');
  assert.equal(s.conditions[0]?.status, 'True');
  assert.equal(s.observedGeneration, 1);
});

test('an unsupported major, a major twice and a bad image are Invalid, naming the field and the fix', () => {
  const actor = start(spec([14, 'ghcr.io/x/pg:14'], [16, 'ghcr.io/x/pg:16'], [16, 'ghcr.io/x/pg:16b'], [17, 'Not An Image!']));
  const s = selectImageCatalogStatus(actor.getSnapshot());
  assert.equal(s.phase, 'Invalid');
  assert.equal(s.images, undefined, 'no images advertised while invalid');
  assert.equal(s.conditions[0]?.status, 'False');
  assert.equal(s.conditions[0]?.reason, 'InvalidImages');
  assert.match(s.message, /spec\.images\[0\]\.major: is 14; pgop supports PostgreSQL majors 15, 16, 17, 18/);
  assert.match(s.message, /spec\.images\[2\]\.major: lists PostgreSQL 16 again \(first at spec\.images\[1\]\); keep one image per major/);
  assert.match(s.message, /spec\.images\[3\]\.image: "Not An Image!" is not an image reference; use registry\/repository/);
});

test('a corrected spec is Ready again with the new images', () => {
  const actor = start(spec([19, 'ghcr.io/x/pg:19']));
  assert.equal(selectImageCatalogStatus(actor.getSnapshot()).phase, 'Invalid');
  actor.send({ type: 'spec.changed', spec: spec([18, 'ghcr.io/x/pg:18']), generation: 2 });
  const s = selectImageCatalogStatus(actor.getSnapshot());
  assert.equal(s.phase, 'Ready');
  assert.deepEqual(s.images, { 18: 'ghcr.io/x/pg:18' });
  assert.equal(s.observedGeneration, 2);
});

test('deletion ends the machine', () => {
  const actor = start(spec([16, 'ghcr.io/x/pg:16']));
  actor.send({ type: 'catalog.deleted' });
  assert.equal(actor.getSnapshot().status, 'done');
});

test('image references: OCI names with registry port, tag and digest, and local absolute paths; nothing else', () => {
  for (const ok of ['postgres', 'postgres:16', 'localhost:5000/team/pg:16.4-bookworm', 'ghcr.io/keiailab/pgop-postgres:17@sha256:' + '0'.repeat(64), '/usr/lib/postgresql/15/bin']) {
    assert.ok(IMAGE_REFERENCE.test(ok), ok);
  }
  for (const bad of ['', 'Postgres:16', 'ghcr.io/x/pg:', 'ghcr.io//pg', 'pg:16 ', 'pg@sha256:abc', 'relative/../bin/', '/bin\nx']) {
    assert.ok(!IMAGE_REFERENCE.test(bad), JSON.stringify(bad));
  }
  assert.deepEqual(catalogProblems({ images: [] }).map((p) => p.field), ['spec.images']);
});
