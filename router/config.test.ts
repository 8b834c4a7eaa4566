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
  assert.deepEqual(c.backend, { host: '127.0.0.1', port: 5433, tls: null });
  assert.equal(c.auth.password, 'secret');
  assert.equal(c.pool.size, 5);
  assert.equal(loadRouterConfig({}, { PGOP_ROUTER_AUTH_PASSWORD: 'env' }).auth.password, 'env');
  assert.deepEqual(parseAddress('6432', '--listen'), { port: 6432 });
});

test('backend TLS, per-shard server names, reference tables and buffering come from the file', () => {
  const c = loadRouterConfig({ config: file('t.json', {
    backend: { tls: { caFile: '/etc/pgop/ca.crt', servername: 'c1-rw' } }, buffer: { timeoutMs: 5000, maxQueued: 10 },
    sharding: { shards: [{ name: '-80', port: 1 }, { name: '80-', port: 2, servername: 'c1-80-rw' }], tables: {}, referenceTables: ['countries'] },
  }) }, { PGOP_ROUTER_AUTH_PASSWORD: 'x' });
  assert.deepEqual(c.backend.tls, { caFile: '/etc/pgop/ca.crt', servername: 'c1-rw' });
  assert.deepEqual(c.buffer, { timeoutMs: 5000, maxQueued: 10 });
  assert.deepEqual(c.sharding?.shards.map((s) => s.servername), [null, 'c1-80-rw']);
  assert.deepEqual(c.sharding?.referenceTables, ['countries']);
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
  assert.throws(() => loadRouterConfig({ config: file('f.json', { backend: { tls: { cafile: 'x' } } }) }, env), /backend\.tls\.caFile must be/);
  assert.throws(() => loadRouterConfig({ config: file('g.json', { backend: { tls: { caFile: 'x', verify: 'none' } } }) }, env), /backend\.tls\.verify is unknown/);
  assert.throws(() => loadRouterConfig({ config: file('h.json', { buffer: { timeoutMs: -1 } }) }, env), /buffer\.timeoutMs/);
  assert.throws(() => loadRouterConfig({ config: file('i.json', { sharding: { shards: [{ name: '-', port: 1 }], referenceTables: ['Bad Name'] } }) }, env), /referenceTables/);
});

test('each shard may name its own CA (sharding.shards[i].tls), overriding backend.tls; unknown keys are refused', () => {
  const env = { PGOP_ROUTER_AUTH_PASSWORD: 'x' };
  const c = loadRouterConfig({ config: file('s.json', {
    backend: { tls: { caFile: '/ca/all.crt' } },
    sharding: { shards: [{ name: '-80', port: 1, tls: { caFile: '/ca/a.crt', servername: '127.0.0.1' } }, { name: '80-', port: 2 }], tables: {} },
  }) }, env);
  assert.deepEqual(c.sharding?.shards.map((s) => s.tls), [{ caFile: '/ca/a.crt', servername: '127.0.0.1' }, null]);
  assert.throws(() => loadRouterConfig({ config: file('s1.json', { sharding: { shards: [{ name: '-', port: 1, tls: { caFile: '' } }], tables: {} } }) }, env), /sharding\.shards\[0\]\.tls\.caFile must be/);
  assert.throws(() => loadRouterConfig({ config: file('s2.json', { sharding: { shards: [{ name: '-', port: 1, tls: { caFile: 'x', insecure: true } }], tables: {} } }) }, env), /sharding\.shards\[0\]\.tls\.insecure is unknown/);
  assert.throws(() => loadRouterConfig({ config: file('s3.json', { sharding: { shards: [{ name: '-', port: 1, caFil: 'x' }], tables: {} } }) }, env), /sharding\.shards\[0\]\.caFil is unknown/);
});

test('backend.readOnly (or --read-only) makes a read-only router; a typo in backend is refused, not ignored', () => {
  const env = { PGOP_ROUTER_AUTH_PASSWORD: 'x' };
  assert.equal(loadRouterConfig({ config: file('ro.json', { backend: { port: 5433, readOnly: true } }) }, env).backend.readOnly, true);
  assert.equal(loadRouterConfig({ readOnly: true }, env).backend.readOnly, true);
  assert.equal(loadRouterConfig({}, env).backend.readOnly, undefined);
  assert.throws(() => loadRouterConfig({ config: file('ro2.json', { backend: { readOnly: 'yes' } }) }, env), /backend\.readOnly must be true or false/);
  assert.throws(() => loadRouterConfig({ config: file('ro3.json', { backend: { readonly: true } }) }, env), /backend\.readonly is unknown; use host, port, tls, readOnly/);
  assert.throws(() => loadRouterConfig({ config: file('ro4.json', { backend: { readOnly: true }, sharding: { shards: [{ name: '-', port: 1 }], tables: {} } }) }, env),
    /backend\.readOnly is for an unsharded router/);
});
