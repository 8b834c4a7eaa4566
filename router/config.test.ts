import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadRouterConfig, parseAddress } from './config.js';

const dir = mkdtempSync(join(tmpdir(), 'pgop-router-config-'));
const file = (name: string, body: unknown) => { const p = join(dir, name); writeFileSync(p, typeof body === 'string' ? body : JSON.stringify(body)); return p; };
test.after(() => rmSync(dir, { recursive: true, force: true }));

test('flags and file combine; the password comes from a file or the environment, never argv', () => {
  const pw = file('pw', 'secret\n');
  const c = loadRouterConfig({ config: file('a.json', { backend: { port: 5433 }, pool: { size: 5 } }), listen: '0.0.0.0:7000', authPasswordFile: pw }, {});
  assert.deepEqual(c.listen, { host: '0.0.0.0', port: 7000 });
  assert.deepEqual(c.backend, { host: '127.0.0.1', port: 5433 });
  assert.equal(c.auth.password, 'secret');
  assert.equal(c.pool.size, 5);
  assert.equal(loadRouterConfig({}, { PGOP_ROUTER_AUTH_PASSWORD: 'env' }).auth.password, 'env');
  assert.deepEqual(parseAddress('6432', '--listen'), { port: 6432 });
});

test('bad input names the field and the fix', () => {
  const env = { PGOP_ROUTER_AUTH_PASSWORD: 'x' };
  assert.throws(() => loadRouterConfig({}, {}), /auth password is missing/);
  assert.throws(() => loadRouterConfig({ config: file('b.json', { listn: {} }) }, env), /config key "listn" is unknown/);
  assert.throws(() => loadRouterConfig({ config: file('c.json', '{') }, env), /c\.json/);
  assert.throws(() => loadRouterConfig({ poolSize: '0' }, env), /pool\.size/);
  assert.throws(() => loadRouterConfig({ backend: 'h:99999' }, env), /--backend must be a TCP port/);
  assert.throws(() => loadRouterConfig({ config: file('d.json', { backend: { host: 'a\nb' } }) }, env), /backend\.host .*control characters/);
  assert.throws(() => loadRouterConfig({ tlsCert: 'x' }, env), /both certFile and keyFile/);
  assert.throws(() => loadRouterConfig({ requireTls: true }, env), /tls\.require needs/);
  assert.throws(() => loadRouterConfig({ config: file('e.json', { sharding: { shards: [] } }) }, env), /sharding\.shards must list/);
});
