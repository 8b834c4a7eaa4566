import { test } from 'node:test';
import assert from 'node:assert/strict';
import { caSecret, caKeySecret, serverSecret } from './tls-secrets.js';
import { tlsSources } from './names.js';
import { instanceIdentity } from './cluster-objects.js';

const owner = { apiVersion: 'postgres.keiailab.io/v1alpha1', kind: 'PostgresCluster', name: 'demo', uid: 'u1' };
const b64 = (s: string) => Buffer.from(s).toString('base64');

test('the CA Secret clients mount holds ca.crt only; the key has a Secret of its own', () => {
  assert.deepEqual(caSecret('demo', 'ns', owner, 'CERT').data, { 'ca.crt': b64('CERT') });
  assert.equal(caSecret('demo', 'ns', owner, 'CERT').metadata.name, 'demo-ca');
  const key = caKeySecret('demo', 'ns', owner, 'CERT', 'KEY');
  assert.equal(key.metadata.name, 'demo-ca-key');
  assert.deepEqual(key.data, { 'tls.crt': b64('CERT'), 'tls.key': b64('KEY') });
  const server = serverSecret('demo', 'ns', owner, 'C', 'K', 'CA');
  assert.equal(server.type, 'kubernetes.io/tls');
  assert.deepEqual(Object.keys(server.data).sort(), ['ca.crt', 'tls.crt', 'tls.key']);
});

test('bring your own: the server Secret and its CA (the same Secret when cert-manager wrote ca.crt into it)', () => {
  assert.deepEqual(tlsSources('demo'), { server: 'demo-server', ca: 'demo-ca', caKey: 'ca.crt' });
  assert.deepEqual(tlsSources('demo', { serverTLSSecret: 'mine' }), { server: 'mine', ca: 'mine', caKey: 'ca.crt' });
  assert.deepEqual(tlsSources('demo', { serverTLSSecret: 'mine', serverCASecret: 'my-ca' }), { server: 'mine', ca: 'my-ca', caKey: 'ca.crt' });
});

test('the agents may read the server certificate and the CA, never the CA key', () => {
  const role = instanceIdentity('demo', 'ns', owner)[1] as { rules: { resources: string[]; resourceNames?: string[] }[] };
  const secrets = role.rules.find((r) => r.resources.includes('secrets'))?.resourceNames ?? [];
  assert.ok(secrets.includes('demo-server') && secrets.includes('demo-ca'));
  assert.ok(!secrets.includes('demo-ca-key'));
  const byo = instanceIdentity('demo', 'ns', owner, { serverTLSSecret: 'mine', serverCASecret: 'my-ca' })[1] as typeof role;
  const names = byo.rules.find((r) => r.resources.includes('secrets'))?.resourceNames ?? [];
  assert.ok(names.includes('mine') && names.includes('my-ca') && !names.includes('demo-server'));
});
