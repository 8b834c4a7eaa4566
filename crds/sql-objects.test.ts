import { test } from 'node:test';
import assert from 'node:assert/strict';
import { admit, AdmissionError } from './admission.js';
import type { Resource } from './definition.js';
import { isReservedRole } from './reserved-roles.js';

const API = 'postgres.keiailab.io/v1alpha1';
const errors = (obj: unknown, old?: Resource): string[] => {
  try { admit(obj, old); return []; } catch (e) { if (e instanceof AdmissionError) return e.causes.map((c) => `${c.field}: ${c.message}`); throw e; }
};
const user = (spec: Record<string, unknown>) => ({ apiVersion: API, kind: 'PostgresUser', metadata: { name: 'u' }, spec: { cluster: { name: 'demo' }, name: 'app', ...spec } });
const db = (spec: Record<string, unknown>) => ({ apiVersion: API, kind: 'PostgresDatabase', metadata: { name: 'd' }, spec: { cluster: { name: 'demo' }, name: 'shop', owner: 'app', ...spec } });

test('any text is a role name, except reserved ones, NUL, and more than 63 bytes', () => {
  assert.deepEqual(errors(user({ name: 'o\'; DROP ROLE x; --"ü' })), []);
  for (const name of ['postgres', 'streaming_replica', 'pg_monitor', 'pgop_x']) {
    assert.ok(isReservedRole(name));
    assert.match(errors(user({ name })).join(), /spec\.name: is a reserved role name/, name);
  }
  assert.match(errors(user({ name: 'a\u0000b' })).join(), /spec\.name: must not contain a NUL/);
  assert.match(errors(user({ name: 'ü'.repeat(32) })).join(), /spec\.name: is longer than PostgreSQL's 63-byte limit/);
  assert.match(errors(user({ inRoles: ['postgres'] })).join(), /spec\.inRoles: may not include the operator's roles/);
  assert.deepEqual(errors(user({ inRoles: ['pg_read_all_data'] })), []);
});

test('password sources exclude each other', () => {
  assert.match(errors(user({ disablePassword: true, passwordSecret: { name: 's' } })).join(), /spec\.disablePassword: a role without password/);
  assert.match(errors(user({ passwordSecret: { name: 's' }, passwordRotation: { intervalDays: 3 } })).join(), /spec\.passwordRotation: rotation applies to generated passwords only/);
});

test('creation settings of a database are immutable; grants name valid privileges and a schema where needed', () => {
  const old = admit(db({ encoding: 'UTF8', locale: 'C' }));
  assert.match(errors(db({ encoding: 'LATIN1', locale: 'C' }), old).join(), /spec\.encoding: is immutable/);
  assert.match(errors(db({ locale: 'en_US.UTF-8' }), old).join(), /spec\.locale: is immutable/);
  assert.match(errors(db({ template: 'template0', locale: 'C' }), old).join(), /spec\.template: is immutable/);
  assert.deepEqual(errors(db({ locale: 'C', connectionLimit: 5 }), old), []);
  assert.match(errors(db({ grants: [{ role: 'r', target: 'tables', privileges: ['SELECT'] }] })).join(), /schema is required/);
  assert.match(errors(db({ grants: [{ role: 'r', target: 'schema', schema: 's', privileges: ['SELECT'] }] })).join(), /privileges on schema are USAGE, CREATE/);
  assert.match(errors(db({ name: 'template1' })).join(), /names a database the operator manages itself/);
  assert.match(errors(db({ schemas: [{ name: 'pg_temp' }] })).join(), /pg_\* and information_schema/);
});
