import { test } from 'node:test';
import assert from 'node:assert/strict';
import { admitSecret } from './secret.js';
import { AdmissionError } from './admission.js';

const causes = (fn: () => unknown): string[] => {
  try { fn(); return []; } catch (e) { if (e instanceof AdmissionError) return e.causes.map((c) => `${c.field}: ${c.message}`); throw e; }
};
const secret = (extra: Record<string, unknown>) => ({ apiVersion: 'v1', kind: 'Secret', metadata: { name: 'login' }, ...extra });

test('stringData is merged into data as base64 (stringData wins) and dropped, as the apiserver does', () => {
  const s = admitSecret(secret({ type: 'kubernetes.io/basic-auth', data: { username: Buffer.from('a').toString('base64'), password: Buffer.from('old').toString('base64') }, stringData: { password: 'new' } }));
  assert.deepEqual(s.data, { username: 'YQ==', password: Buffer.from('new').toString('base64') });
  assert.equal(s.type, 'kubernetes.io/basic-auth');
  assert.equal(s.metadata.namespace, 'default');
  assert.ok(!('stringData' in s));
});

test('bad Secrets are refused naming the field, never echoing a value', () => {
  const out = causes(() => admitSecret(secret({ type: 'kubernetes.io/basic-auth', data: { password: 'not base64!' }, stringData: { 'bad key': 'x' }, spec: {} })));
  assert.deepEqual(out.map((c) => c.split(':')[0]), ['spec', 'data.password', 'stringData.bad key', 'data']);
  assert.ok(!out.join().includes('not base64!'));
  assert.match(causes(() => admitSecret(secret({ type: 'kubernetes.io/basic-auth', stringData: { other: 'x' } }))).join(), /needs a "username" or "password" key/);
  assert.match(causes(() => admitSecret(secret({ metadata: { name: 'Bad_Name' } }))).join(), /metadata\.name: must be a DNS subdomain/);
});

test('the type of a stored Secret cannot change', () => {
  const old = admitSecret(secret({ type: 'Opaque', stringData: { a: 'b' } }));
  assert.match(causes(() => admitSecret(secret({ type: 'kubernetes.io/basic-auth', stringData: { password: 'x' } }), old)).join(), /type: is immutable/);
});
