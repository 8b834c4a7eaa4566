// Local admission refuses configuration injection (parameters, pg_hba lines, reserved role names) and
// user-written metadata, naming the field. The same CEL runs in the apiserver (tests/k8s/crds.test.ts).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { admit, AdmissionError } from './admission.js';

const cluster = (spec: unknown, metadata: Record<string, unknown> = {}) =>
  ({ apiVersion: 'postgres.keiailab.io/v1alpha1', kind: 'PostgresCluster', metadata: { name: 'demo', ...metadata }, spec });

function refused(obj: unknown): AdmissionError {
  try { admit(obj); } catch (e) { if (e instanceof AdmissionError) return e; throw e; }
  assert.fail(`expected ${JSON.stringify(obj)} to be refused`);
}

function assertRefused(obj: unknown, field: string, message: RegExp) {
  const e = refused(obj);
  const cause = e.causes.find((c) => c.field === field && message.test(c.message));
  assert.ok(cause, `expected ${field} ~ ${message} for ${JSON.stringify(obj)}; got ${JSON.stringify(e.causes)}`);
}

/** Hostile parameters: case variants of owned names, code loading, line-ending values, malformed names. */
export const HOSTILE_PARAMETERS: [string, Record<string, string>, RegExp][] = [
  ['upper-case archive_command', { ARCHIVE_MODE: 'on', ARCHIVE_COMMAND: 'touch /tmp/pwned-archive-%f' }, /parameter ARCHIVE_COMMAND is managed by the operator/],
  ['mixed-case archive_command', { Archive_Command: 'touch /tmp/x' }, /Archive_Command is managed by the operator/],
  ['shared_preload_libraries', { shared_preload_libraries: 'evil' }, /shared_preload_libraries is managed by the operator/],
  ['session_preload_libraries', { session_preload_libraries: 'evil' }, /session_preload_libraries is managed/],
  ['local_preload_libraries', { LOCAL_PRELOAD_LIBRARIES: 'evil' }, /LOCAL_PRELOAD_LIBRARIES is managed/],
  ['some_preload_libraries', { other_preload_libraries: 'evil' }, /other_preload_libraries is managed/],
  ['archive_library', { archive_library: 'evil' }, /archive_library is managed/],
  ['restore_command', { restore_command: 'cp x y' }, /restore_command is managed/],
  ['ssl_passphrase_command', { ssl_passphrase_command: 'sh -c id' }, /ssl_passphrase_command is managed/],
  ['dynamic_library_path', { dynamic_library_path: '/tmp' }, /dynamic_library_path is managed/],
  ['jit_provider', { jit_provider: '../../../tmp/evil' }, /jit_provider is managed/],
  ['include directive', { include: '/etc/passwd' }, /include is managed/],
  ['value with a newline', { work_mem: "4MB'\narchive_command = 'touch /tmp/pwned" }, /work_mem holds a control character/],
  ['value with CR', { work_mem: '4MB\rarchive_command = x' }, /work_mem holds a control character/],
  ['value with NUL', { work_mem: '4MB\u0000' }, /work_mem holds a control character/],
  ['value with a tab', { work_mem: '4MB\t' }, /work_mem holds a control character/],
  ['name with -', { 'work-mem': '4MB' }, /invalid parameter name "work-mem"/],
  ['name with a space', { 'work_mem x': '4MB' }, /invalid parameter name "work_mem x"/],
  ['name with =', { 'work_mem=1': '4MB' }, /invalid parameter name "work_mem=1"/],
  ['name with two dots', { 'a.b.c': '1' }, /invalid parameter name "a\.b\.c"/],
  ['name with a newline', { 'a\nport': '1' }, /invalid parameter name/],
];

test('hostile parameters are refused naming spec.postgresql.parameters', () => {
  for (const [what, parameters, message] of HOSTILE_PARAMETERS) {
    assertRefused(cluster({ postgresql: { parameters } }), 'spec.postgresql.parameters', message);
    assert.ok(what);
  }
});

test('ordinary and extension parameters pass, with quotes and backslashes in values', () => {
  assert.doesNotThrow(() => admit(cluster({ postgresql: { parameters: {
    work_mem: '4MB', 'myext.setting': 'on', search_path: "'$user', public", application_name: 'ends with \\', 'pg_stat_statements.max': '1000',
  } } })));
});

/** Hostile pg_hba lines and the reason each is refused. */
export const HOSTILE_HBA: [string, RegExp][] = [
  ['host all all 0.0.0.0/0 trust', /must be one rule|method "trust"/],
  ['host all all 0.0.0.0/0 password', /must be one rule|method "password"/],
  ['host all all 0.0.0.0/0 md5', /must be one rule|method "md5"/],
  ['host all all 0.0.0.0/0 ident', /must be one rule|method "ident"/],
  ['local all all peer', /must be one rule|type "local"/],
  ['host all all 0.0.0.0/0 scram-sha-256\nhost all all 0.0.0.0/0 trust', /must be one rule|control character/],
  ['host "all" all 0.0.0.0/0 scram-sha-256', /must be one rule|quotes/],
  ['host @dbs all 0.0.0.0/0 scram-sha-256', /must be one rule|@file/],
  ['include /etc/hba-extra.conf', /must be one rule|include/],
  ['include_dir /tmp', /must be one rule|include/],
  ['hostnossl all all 0.0.0.0/0 scram-sha-256', /hostnossl is only allowed with reject/],
  ['host all all 0.0.0.0/0 cert', /cert and clientcert need hostssl|cert needs hostssl/],
  ['host replication all 0.0.0.0/0 scram-sha-256', /replication connections are the operator's/],
  ['host all all 0.0.0.0/0 scram-sha-256 map=x', /must be one rule|option "map=x"/],
  ['host all all example.com scram-sha-256', /must be one rule|address "example.com"/],
  ['host all all /^.*$ scram-sha-256', /must be one rule|address/],
];

test('hostile pg_hba lines are refused naming the line', () => {
  for (const [i, [line, message]] of HOSTILE_HBA.entries()) {
    const pgHba = ['host app app 10.0.0.0/8 scram-sha-256', line];
    assertRefused(cluster({ postgresql: { pgHba } }), 'spec.postgresql.pgHba[1]', message);
    assert.ok(i >= 0);
  }
});

test('well-formed pg_hba lines pass', () => {
  assert.doesNotThrow(() => admit(cluster({ postgresql: { pgHba: [
    'host app app 10.0.0.0/8 scram-sha-256',
    'hostssl all +readers fd00::/8 scram-sha-256 clientcert=verify-full',
    'hostssl app,reports alice 192.168.1.0 255.255.255.0 cert',
    'hostnossl all all 0.0.0.0/0 reject',
    'host all all samenet reject',
  ] } })));
});

test('the initdb owner cannot be an operator or reserved role', () => {
  for (const owner of ['postgres', 'Postgres', 'streaming_replica', 'pg_monitor', 'pgop_agent', 'public']) {
    assertRefused(cluster({ bootstrap: { initdb: { owner } } }), 'spec.bootstrap.initdb.owner', /reserved role name/);
  }
  assert.doesNotThrow(() => admit(cluster({ bootstrap: { initdb: { owner: 'shop_owner', locale: 'en_US.UTF-8', encoding: 'UTF8' } } })));
  assertRefused(cluster({ bootstrap: { initdb: { locale: 'C --auth=trust' } } }), 'spec.bootstrap.initdb.locale', /locale name/);
  assertRefused(cluster({ bootstrap: { initdb: { encoding: 'UTF8\n' } } }), 'spec.bootstrap.initdb.encoding', /encoding name/);
});

test('metadata a user must not write is refused, server-set fields are dropped', () => {
  for (const [field, value] of [
    ['finalizers', ['example.com/keep-forever']],
    ['deletionTimestamp', '2026-01-01T00:00:00Z'],
    ['deletionGracePeriodSeconds', 0],
    ['ownerReferences', [{ apiVersion: 'v1', kind: 'Secret', name: 'x', uid: 'u' }]],
    ['generateName', 'x-'],
  ] as const) {
    assertRefused(cluster({}, { [field]: value }), `metadata.${field}`, /set by the (server|operator)|not supported|cannot be set/);
  }
  const r = admit(cluster({}, {
    uid: 'forged', resourceVersion: '1', generation: 9, creationTimestamp: '2000-01-01T00:00:00Z', managedFields: [{}], labels: { a: 'b' }, annotations: { c: 'd' },
  }));
  assert.deepEqual(r.metadata, { name: 'demo', namespace: 'default', labels: { a: 'b' }, annotations: { c: 'd' } });
  assert.doesNotThrow(() => admit(cluster({}, { finalizers: [], ownerReferences: null })), 'empty values change nothing');
  assertRefused(cluster({}, { labels: { a: 1 } }), 'metadata.labels', /string/);
  assertRefused(cluster({}, { surprise: true }), 'metadata.surprise', /unknown field/);
});
