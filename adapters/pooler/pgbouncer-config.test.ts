import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Value } from '@sinclair/typebox/value';
import { renderPgBouncerIni, renderAuthFile, type PgBouncerLayout } from './pgbouncer-config.js';
import { PoolerSpec, type PoolerSpec as Spec } from '../../crds/pooler.js';
import { poolerParameterProblem } from '../../crds/pgbouncer-parameters.js';

const spec = (extra: Partial<Spec['pgbouncer']> = {}): Spec =>
  Value.Default(PoolerSpec, { cluster: { name: 'demo' }, pgbouncer: { poolMode: 'transaction', ...extra } }) as Spec;
const layout: PgBouncerLayout = { listenAddr: '127.0.0.1', listenPort: 6432, socketDir: '/run/p/0', pidFile: '/run/p/0/pgbouncer.pid', authFile: '/run/p/auth.txt', reusePort: true };
const server = { host: '127.0.0.1', port: 5432, databases: ['app', 'postgres', 'we ird'] };

test('the operator owns listening, auth and TLS; user tuning follows', () => {
  const ini = renderPgBouncerIni(spec({ parameters: { server_idle_timeout: '60' } }), layout, server);
  assert.match(ini, /^auth_type = scram-sha-256$/m);
  assert.match(ini, /^auth_query = SELECT usename, passwd FROM pgop_pooler\.get_auth\(\$1\)$/m);
  assert.match(ini, /^pool_mode = transaction$/m);
  assert.match(ini, /^so_reuseport = 1$/m);
  assert.match(ini, /^server_tls_sslmode = disable$/m);
  assert.match(ini, /^server_idle_timeout = 60$/m);
  // Plain database names get their own entry (moved by RELOAD); others go through `*`.
  assert.match(ini, /^app = host=127\.0\.0\.1 port=5432 dbname=app$/m);
  assert.doesNotMatch(ini, /we ird/);
  assert.match(ini, /^\* = host=127\.0\.0\.1 port=5432$/m);
});

test('with the cluster CA, server connections verify the server name (verify-full)', () => {
  const ini = renderPgBouncerIni(spec(), layout, { ...server, caFile: '/certs/ca.crt' });
  assert.match(ini, /^server_tls_sslmode = verify-full$/m);
  assert.match(ini, /^server_tls_ca_file = \/certs\/ca\.crt$/m);
});

test('no route: clients wait on an unreachable target instead of reaching a stale primary', () => {
  assert.match(renderPgBouncerIni(spec(), layout, null), /^\* = host=127\.0\.0\.1 port=1$/m);
});

test('the renderer refuses what admission refuses, even when a spec skipped admission', () => {
  for (const parameters of [{ auth_type: 'trust' } as Record<string, string>, { AUTH_FILE: '/etc/passwd' }, { server_reset_query: 'x\nauth_type = trust' }, { '%include': '/etc/x' }]) {
    assert.throws(() => renderPgBouncerIni(spec({ parameters }), layout, server), /spec\.pgbouncer\.parameters/);
  }
  assert.throws(() => renderPgBouncerIni(spec(), { ...layout, socketDir: '/tmp/x\nauth_type = trust' }, server), /refusing to render/);
  assert.throws(() => renderAuthFile('a"b'), /cannot carry/);
  assert.equal(renderAuthFile('secret'), '"pgop_pooler" "secret"\n');
});

test('parameter problems name the field and the fix', () => {
  assert.match(poolerParameterProblem('listen_port', '1') ?? '', /operator manages.*remove it from spec\.pgbouncer\.parameters/);
  assert.match(poolerParameterProblem('bogus', '1') ?? '', /not a PgBouncer setting a Pooler may set; allowed: /);
  assert.equal(poolerParameterProblem('query_timeout', '30'), null);
});
