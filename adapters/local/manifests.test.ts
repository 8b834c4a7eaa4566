import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readManifests, admitAgainstStore, ManifestError, MAX_MANIFEST_BYTES, MAX_DOCUMENTS } from './manifests.js';
import { StateDir } from './state-dir.js';
import { admit } from '../../crds/admission.js';
import type { Resource } from '../../crds/definition.js';

const dir = mkdtempSync(join(tmpdir(), 'pgop-manifests-'));
let n = 0;
const file = (text: string) => { const f = join(dir, `m${n++}.yaml`); writeFileSync(f, text); return f; };
const cluster = (name: string, extra = '') => `apiVersion: postgres.keiailab.io/v1alpha1\nkind: PostgresCluster\nmetadata:\n  name: ${name}\nspec:\n  instances: 1\n${extra}`;

function refusal(fn: () => unknown): string {
  try { fn(); } catch (e) { if (e instanceof ManifestError) return e.message; throw e; }
  assert.fail('expected a ManifestError');
}

test('a manifest over 1.5 MiB is refused before it is parsed', () => {
  const big = file(`${cluster('big')}# ${'x'.repeat(MAX_MANIFEST_BYTES)}\n`);
  assert.match(refusal(() => readManifests([big])), /is larger than 1\.5 MiB .*split it/);
});

test('more than 100 documents are refused', () => {
  const many = file(Array.from({ length: MAX_DOCUMENTS + 1 }, (_, i) => cluster(`c${i}`)).join('---\n'));
  assert.match(refusal(() => readManifests([many])), /101 documents; at most 100 per apply/);
  assert.equal(readManifests([file(Array.from({ length: MAX_DOCUMENTS }, (_, i) => cluster(`c${i}`)).join('---\n'))]).length, MAX_DOCUMENTS);
});

test('a YAML alias bomb gives a clear error', () => {
  let y = 'a: &a ["x","x","x","x","x","x","x","x","x"]\n';
  let prev = 'a';
  for (const k of 'bcdefghi') { y += `${k}: &${k} [${Array(9).fill(`*${prev}`).join(',')}]\n`; prev = k; }
  assert.match(refusal(() => readManifests([file(y)])), /too many YAML aliases .*expand/);
});

test('metadata a user must not set is refused in any document, so nothing is applied', () => {
  const f = file(`${cluster('ok')}---\n${cluster('bad').replace('  name: bad', '  name: bad\n  finalizers: [x]')}`);
  const msg = refusal(() => readManifests([f]));
  assert.match(msg, /\(document 2\).*\n.*metadata\.finalizers: is set by the operator/);
  assert.match(msg, /nothing was applied/);
});

test('a cluster whose instance socket path would pass 107 bytes is refused with the limit named', () => {
  const state = new StateDir(join(dir, 's'));
  const long = 'c'.repeat(50);
  const msg = refusal(() => readManifests([file(cluster(long))], state));
  assert.match(msg, /metadata\.name: .*socket path would be \d+ bytes.*the limit is 107/);
  assert.equal(readManifests([file(cluster('short'))], state).length, 1);
  assert.equal(readManifests([file(cluster(long))]).length, 1, 'without a state dir there is nothing to measure');
});

test('a multi-document apply is checked against the store before anything is written', async () => {
  const stored = admit({ apiVersion: 'postgres.keiailab.io/v1alpha1', kind: 'PostgresCluster', metadata: { name: 'old' }, spec: { postgresVersion: 16 } });
  const store = { get: async (k: { name: string }): Promise<Resource | undefined> => (k.name === 'old' ? stored : undefined) };
  const manifests = readManifests([file(`${cluster('new')}---\n${cluster('old', '  postgresVersion: 15\n')}`)]);
  await assert.rejects(admitAgainstStore(manifests, store), (e: Error) => e instanceof ManifestError && /cannot go down/.test(e.message) && /nothing was applied/.test(e.message));
  const deleting = { ...stored, metadata: { ...stored.metadata, deletionTimestamp: '2026-01-01T00:00:00Z' } };
  await assert.rejects(admitAgainstStore(readManifests([file(cluster('old', '  postgresVersion: 16\n'))]), { get: async () => deleting }), /is being deleted/);
  await admitAgainstStore(readManifests([file(`${cluster('new')}---\n${cluster('old', '  postgresVersion: 17\n')}`)]), store);
});
