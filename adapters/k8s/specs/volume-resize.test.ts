import { test } from 'node:test';
import assert from 'node:assert/strict';
import { decideResize, type ObservedVolume } from './volume-resize.js';
import { compareQuantities, parseQuantity } from '../../../crds/quantity.js';

const vol = (name: string, requested: string, capacity?: string, extra: Partial<ObservedVolume> = {}): ObservedVolume =>
  ({ name, requested, ...(capacity ? { capacity } : {}), bound: capacity !== undefined, resizeConditions: [], ...extra });

test('quantities compare across units', () => {
  assert.equal(parseQuantity('1Gi'), 2 ** 30);
  assert.equal(compareQuantities('2048Mi', '2Gi'), 0);
  assert.equal(compareQuantities('1G', '1Gi'), -1);
  assert.equal(compareQuantities('1.5e3', '1k'), 1);
  assert.throws(() => parseQuantity('big'), /not a Kubernetes quantity/);
});

test('volumes below the size are patched when the class can expand; progress counts grown capacity', () => {
  const d = decideResize('2Gi', [vol('a-data', '1Gi', '1Gi'), vol('b-data', '2Gi', '1Gi', { resizeConditions: ['FileSystemResizePending'] })], true, 'fast');
  assert.deepEqual(d.patch, ['a-data']);
  assert.deepEqual({ status: d.condition.status, reason: d.condition.reason }, { status: 'False', reason: 'Resizing' });
  assert.equal(d.status.resized, 0);
  assert.match(d.status.message ?? '', /1 waiting for the file system/);
});

test('a class without allowVolumeExpansion (or no class) patches nothing and says why', () => {
  const d = decideResize('2Gi', [vol('a-data', '1Gi', '1Gi')], false, 'slow');
  assert.deepEqual(d.patch, []);
  assert.equal(d.condition.reason, 'ExpansionNotSupported');
  assert.match(d.condition.message, /StorageClass slow does not allow volume expansion/);
  assert.match(decideResize('2Gi', [vol('a-data', '1Gi')], null, null).condition.message, /no StorageClass is named/);
});

test('every volume at the size: Resized; unbound claims count once their request is raised', () => {
  const d = decideResize('2Gi', [vol('a-data', '2Gi', '2Gi'), vol('b-data', '2Gi')], false, 'slow');
  assert.deepEqual({ patch: d.patch, status: d.condition.status, reason: d.condition.reason, resized: d.status.resized }, { patch: [], status: 'True', reason: 'Resized', resized: 2 });
});
