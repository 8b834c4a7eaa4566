import { test } from 'node:test';
import assert from 'node:assert/strict';
import { planDatabase, rolesNamed } from './database.logic.js';
import type { ObservedDatabase } from './database.types.js';
import type { PostgresDatabaseSpec } from '../../crds/postgresdatabase.js';

const spec = (s: Partial<PostgresDatabaseSpec> = {}): PostgresDatabaseSpec => ({ cluster: { name: 'demo' }, name: 'shop', owner: 'owner', ...s } as PostgresDatabaseSpec);
const observed = (o: Partial<ObservedDatabase> = {}): ObservedDatabase => ({
  owner: 'owner', encoding: 'UTF8', connectionLimit: -1, allowConnections: true,
  extensions: [{ name: 'plpgsql', version: '1.0', schema: 'pg_catalog' }], schemas: [{ name: 'public', owner: 'pg_database_owner' }], grants: [], defaults: [], ...o,
});

test('a missing database is created, then its schemas, extensions and grants, in that order', () => {
  assert.deepEqual(planDatabase(spec({
    schemas: [{ name: 'ext', ensure: 'present' }],
    extensions: [{ name: 'hstore', schema: 'ext', ensure: 'present' }],
    grants: [{ role: 'r', target: 'schema', schema: 'ext', privileges: ['USAGE'] }],
  }), null).map((a) => a.kind), ['createDatabase', 'createSchema', 'createExtension', 'grant']);
});

test('a database as declared needs nothing', () => {
  assert.deepEqual(planDatabase(spec({ schemas: [{ name: 'public', owner: 'pg_database_owner', ensure: 'present' }] }), observed()), []);
});

test('owner, connection limit and allowConnections are altered in one step', () => {
  assert.deepEqual(planDatabase(spec({ connectionLimit: 5 }), observed({ owner: 'someone' })), [{ kind: 'alterDatabase', owner: 'owner', connectionLimit: 5 }]);
});

test('a hand-dropped schema is created again; a wrong schema owner is corrected', () => {
  const s = spec({ schemas: [{ name: 'sales', ensure: 'present' }, { name: 'ops', owner: 'ops', ensure: 'present' }] });
  assert.deepEqual(planDatabase(s, observed({ schemas: [{ name: 'ops', owner: 'owner' }] })), [
    { kind: 'createSchema', name: 'sales', owner: 'owner' },
    { kind: 'alterSchemaOwner', name: 'ops', owner: 'ops' },
  ]);
});

test('extensions are installed, updated, moved and dropped to match; unlisted ones are left alone', () => {
  const s = spec({ extensions: [{ name: 'a', version: '2.0', ensure: 'present' }, { name: 'b', schema: 'x', ensure: 'present' }, { name: 'c', ensure: 'absent' }, { name: 'd', ensure: 'present' }] });
  const o = observed({ extensions: [{ name: 'a', version: '1.0', schema: 'public' }, { name: 'b', version: '1', schema: 'public' }, { name: 'c', version: '1', schema: 'public' }, { name: 'plpgsql', version: '1.0', schema: 'pg_catalog' }] });
  assert.deepEqual(planDatabase(s, o), [
    { kind: 'updateExtension', name: 'a', version: '2.0' },
    { kind: 'moveExtension', name: 'b', schema: 'x' },
    { kind: 'createExtension', name: 'd', version: null, schema: null },
    { kind: 'dropExtension', name: 'c' },
  ]);
});

test('grants are exact for the roles the spec names: missing granted, extra revoked, other roles untouched', () => {
  const s = spec({ grants: [{ role: 'r', target: 'tables', schema: 's', privileges: ['SELECT', 'INSERT'] }] });
  const o = observed({ grants: [
    { role: 'r', on: 'tables', schema: 's', all: ['SELECT'], any: ['SELECT', 'DELETE'] },
    { role: 'r', on: 'schema', schema: 's', all: ['USAGE'], any: ['USAGE'] },
  ] });
  assert.deepEqual(planDatabase(s, o), [
    { kind: 'revoke', role: 'r', on: 'schema', schema: 's', privileges: ['USAGE'] },
    { kind: 'grant', role: 'r', on: 'tables', schema: 's', privileges: ['INSERT'] },
    { kind: 'revoke', role: 'r', on: 'tables', schema: 's', privileges: ['DELETE'] },
  ]);
});

test('default privileges default to the owner as creator and are exact per grantee', () => {
  const s = spec({ defaultPrivileges: [{ role: 'r', schema: 's', target: 'tables', privileges: ['SELECT'] }] });
  assert.deepEqual(planDatabase(s, observed({ defaults: [{ role: 'r', forRole: 'owner', schema: 's', on: 'tables', privileges: ['SELECT', 'UPDATE'] }] })), [
    { kind: 'revokeDefault', role: 'r', forRole: 'owner', schema: 's', on: 'tables', privileges: ['UPDATE'] },
  ]);
});

test('ensure absent drops the database; every role the spec needs is named', () => {
  assert.deepEqual(planDatabase(spec({ ensure: 'absent' }), observed()), [{ kind: 'dropDatabase' }]);
  assert.deepEqual(planDatabase(spec({ ensure: 'absent' }), null), []);
  assert.deepEqual(rolesNamed(spec({ schemas: [{ name: 'x', owner: 'so', ensure: 'present' }], grants: [{ role: 'g', target: 'database', privileges: ['CONNECT'] }] })), ['g', 'owner', 'so']);
});
