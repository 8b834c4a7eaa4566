import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import type { AddressInfo } from 'node:net';
import { startAgentApi } from './http-api.js';
import { bearerMatches, BadRequest } from './api-auth.js';

const errors: string[] = [];
const calls: string[] = [];
const server = await startAgentApi('127.0.0.1', 0, {
  token: () => 'the-token',
  status: async () => { throw new Error('cannot read /secret/path/superuser.password'); },
  metrics: async () => ({ contentType: 'text/plain', body: 'm 1\n' }),
  actions: {
    fence: async (body) => { calls.push(`fence ${JSON.stringify(body)}`); return { fenced: true }; },
    demote: async () => { throw new BadRequest('handoverTo is not a plan of this cluster'); },
    promote: async () => { throw new Error('cannot promote in state fenced'); },
  },
  onError: (e, path) => errors.push(`${path}: ${e.message}`),
});
after(() => server.close());
const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
const auth = { authorization: 'Bearer the-token', 'content-type': 'application/json' };

test('bearer tokens match exactly, nothing else does', () => {
  assert.equal(bearerMatches('Bearer the-token', 'the-token'), true);
  for (const h of [undefined, '', 'Bearer ', 'Bearer the-token ', 'bearer the-token', 'Bearer the-tokenx', 'Bearer the-toke', 'the-token', 'Bearer a b']) {
    assert.equal(bearerMatches(h, 'the-token'), false, String(h));
  }
  assert.equal(bearerMatches('Bearer ', ''), false, 'an empty expected token matches nothing');
});

test('an unexpected failure is logged in full and answered with a bare 500', async () => {
  const r = await fetch(`${base}/readyz`);
  assert.equal(r.status, 500);
  assert.doesNotMatch(await r.text(), /secret|password/);
  assert.deepEqual(errors, ['/readyz: cannot read /secret/path/superuser.password']);
});

test('actions answer 200, 400 for a bad request, 409 for a refusal; only with the token', async () => {
  assert.equal((await fetch(`${base}/fence`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' })).status, 401);
  assert.deepEqual(calls, []);
  const ok = await fetch(`${base}/fence`, { method: 'POST', headers: auth, body: '{"reason":"drill"}' });
  assert.equal(ok.status, 200);
  assert.deepEqual(calls, ['fence {"reason":"drill"}']);
  assert.equal((await fetch(`${base}/demote`, { method: 'POST', headers: auth, body: '{}' })).status, 400);
  assert.equal((await fetch(`${base}/promote`, { method: 'POST', headers: auth, body: '{}' })).status, 409);
  assert.equal((await fetch(`${base}/fence`, { method: 'POST', headers: auth, body: '[1]' })).status, 400);
  assert.equal((await fetch(`${base}/__proto__`, { method: 'POST', headers: auth, body: '{}' })).status, 404);
  assert.equal((await fetch(`${base}/metrics`)).status, 200);
});
