import { test } from 'node:test';
import assert from 'node:assert/strict';
import { renderPgopConf, renderHba, primaryConninfo, pgpassLine } from './render.js';
import type { InstanceSpec } from '../adapters/instance/spec.js';

const spec: InstanceSpec = {
  cluster: { namespace: 'default', name: 'demo' }, name: 'demo-2', serial: 2, host: '127.0.0.1', port: 5433, httpPort: 8001,
  dataDir: '/v/pgdata', runDir: '/r', logFile: '/l', pgBinDir: '/b',
  bootstrap: { mode: 'clone', source: { host: '127.0.0.1', port: 5432 } }, primary: { host: '127.0.0.1', port: 5432 },
  replicationSlot: 'pgop_demo_2', parameters: { shared_buffers: '64MB', search_path: "'$user', public" }, pgHba: ['host app app 10.0.0.0/8 scram-sha-256'],
  secrets: { superuser: '/s', replication: '/r', app: '/a' }, runAsUser: null,
  members: ['demo-1', 'demo-2'], synchronous: null, lease: null, faultsFile: null,
};

test('operator settings come after user parameters so they always win, and values are quoted', () => {
  const conf = renderPgopConf(spec, { standby: true, passfile: '/r/pgpass' });
  assert.ok(conf.indexOf("shared_buffers = '64MB'") < conf.indexOf("port = '5433'"));
  assert.match(conf, /search_path = '''\$user'', public'/);
  assert.match(conf, /primary_slot_name = 'pgop_demo_2'/);
  assert.match(conf, /primary_conninfo = 'host=127.0.0.1 port=5432 user=streaming_replica passfile=\/r\/pgpass application_name=demo-2/);
  assert.doesNotMatch(renderPgopConf(spec, { standby: false, passfile: '/r/pgpass' }), /primary_conninfo/);
});

test('a short WAL retry interval is the default, and a user setting replaces it', () => {
  assert.match(renderPgopConf(spec, { standby: true, passfile: '/p' }), /^wal_retrieve_retry_interval = '1s'$/m);
  const own = renderPgopConf({ ...spec, parameters: { wal_retrieve_retry_interval: '3s' } }, { standby: true, passfile: '/p' });
  assert.deepEqual(own.match(/^wal_retrieve_retry_interval = .*$/gm), ["wal_retrieve_retry_interval = '3s'"]);
});

test('pg_hba refuses trust and keeps replication to the replication role', () => {
  const hba = renderHba(spec);
  assert.doesNotMatch(hba, /\btrust\b/);
  assert.match(hba, /host\s+replication\s+streaming_replica\s+127\.0\.0\.0\/8\s+scram-sha-256/);
  assert.ok(hba.indexOf('10.0.0.0/8') > hba.indexOf('reject'), 'user rules come after the operator rules');
});

test('conninfo and pgpass escape what libpq requires', () => {
  assert.match(primaryConninfo({ ...spec, name: "it's" }, '/p'), /application_name='it\\'s'/);
  assert.equal(pgpassLine('*', '*', 'u', 'a:b\\c'), '*:*:*:u:a\\:b\\\\c\n');
});
