import { test } from 'node:test';
import assert from 'node:assert/strict';
import { admitManifest } from './admit-manifest.js';
import { AdmissionError } from '../../crds/admission.js';

test('local apply routes v1 Secrets to Secret admission and everything else to the CRDs', () => {
  assert.equal(admitManifest({ apiVersion: 'v1', kind: 'Secret', metadata: { name: 'login' }, stringData: { a: 'b' } }).kind, 'Secret');
  assert.throws(() => admitManifest({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'x' } }), (e: unknown) => e instanceof AdmissionError && /unknown kind "ConfigMap"/.test(e.message));
});
