import { test } from 'node:test';
import assert from 'node:assert/strict';
import { jsonPath, genericTable } from './printer-columns.js';
import { imageCatalogDefinition } from '../../crds/imagecatalog.js';

test('printer column paths resolve nested fields and lists', () => {
  const obj = { spec: { cluster: { name: 'demo' }, images: [{ major: 16 }, { major: 17 }] } };
  assert.deepEqual(jsonPath(obj, '.spec.cluster.name'), ['demo']);
  assert.deepEqual(jsonPath(obj, '.spec.images[*].major'), [16, 17]);
  assert.deepEqual(jsonPath(obj, '.status.phase'), []);
});

test('any kind prints with its own columns', () => {
  const now = new Date('2026-01-01T00:01:00Z');
  const text = genericTable(imageCatalogDefinition, [{ apiVersion: 'x', kind: 'ImageCatalog', metadata: { name: 'imgs', creationTimestamp: '2026-01-01T00:00:00Z' }, spec: { images: [{ major: 16 }, { major: 17 }] }, status: { phase: 'Ready' } }], now);
  assert.equal(text, 'NAME   MAJORS   PHASE   AGE\nimgs   16,17    Ready   60s');
});
