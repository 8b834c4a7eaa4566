import { test } from 'node:test';
import assert from 'node:assert/strict';
import { planRole, rotationDue, sameInstant, describeActions } from './user.logic.js';
import type { ObservedRole } from './user.types.js';
import type { PostgresUserSpec } from '../../crds/postgresuser.js';

const spec = (s: Partial<PostgresUserSpec> = {}): PostgresUserSpec => ({ cluster: { name: 'demo' }, name: 'app', ...s } as PostgresUserSpec);
const observed = (o: Partial<ObservedRole> = {}): ObservedRole => ({
  superuser: false, inherit: true, createrole: false, createdb: false, login: true, replication: false, bypassrls: false,
  connectionLimit: -1, validUntil: null, memberOf: [], passwordMatches: true, ...o,
});

test('a missing role is created with every attribute spelled out, then given its password and memberships', () => {
  assert.deepEqual(planRole(spec({ createdb: true, connectionLimit: 3, inRoles: ['b', 'a'] }), null), [
    { kind: 'createRole', attributes: ['NOSUPERUSER', 'INHERIT', 'NOCREATEROLE', 'CREATEDB', 'LOGIN', 'NOREPLICATION', 'NOBYPASSRLS'], connectionLimit: 3, validUntil: null },
    { kind: 'setPassword' },
    { kind: 'grantMembership', role: 'a' },
    { kind: 'grantMembership', role: 'b' },
  ]);
});

test('a role as declared needs nothing; the same instant in another notation is no change', () => {
  assert.deepEqual(planRole(spec({ validUntil: '2030-01-01T00:00:00Z' }), observed({ validUntil: '2030-01-01T00:00:00.000Z' })), []);
  assert.ok(sameInstant('2030-01-01T00:00:00Z', '2030-01-01T01:00:00+01:00'));
});

test('only changed attributes are altered; memberships are granted and revoked to match exactly', () => {
  const plan = planRole(spec({ login: false, connectionLimit: 10, inRoles: ['keep', 'add'] }), observed({ memberOf: ['keep', 'drop'] }));
  assert.deepEqual(plan, [
    { kind: 'alterRole', attributes: ['NOLOGIN'], connectionLimit: 10 },
    { kind: 'grantMembership', role: 'add' },
    { kind: 'revokeMembership', role: 'drop' },
  ]);
  assert.equal(describeActions(plan), 'alterRole(NOLOGIN), grantMembership(add), revokeMembership(drop)');
});

test('dropping validUntil resets it to infinity (null)', () => {
  assert.deepEqual(planRole(spec(), observed({ validUntil: '2030-01-01T00:00:00.000Z' })), [{ kind: 'alterRole', attributes: [], validUntil: null }]);
});

test('a password that does not match is set again; disablePassword clears it', () => {
  assert.deepEqual(planRole(spec(), observed({ passwordMatches: false })), [{ kind: 'setPassword' }]);
  assert.deepEqual(planRole(spec(), observed({ passwordMatches: null })), [{ kind: 'setPassword' }]);
  assert.deepEqual(planRole(spec({ disablePassword: true }), observed({ passwordMatches: false })), [{ kind: 'clearPassword' }]);
  assert.deepEqual(planRole(spec({ disablePassword: true }), observed({ passwordMatches: null })), []);
});

test('memberships in roles that do not exist yet are left for later, but never revoked', () => {
  assert.deepEqual(planRole(spec({ inRoles: ['later'] }), observed(), ['later']), []);
});

test('ensure absent drops an existing role and does nothing for a missing one', () => {
  assert.deepEqual(planRole(spec({ ensure: 'absent' }), observed()), [{ kind: 'dropRole' }]);
  assert.deepEqual(planRole(spec({ ensure: 'absent' }), null), []);
});

test('generated passwords rotate after intervalDays', () => {
  const s = spec({ passwordRotation: { intervalDays: 30 } });
  assert.equal(rotationDue(s, '2026-01-01T00:00:00Z', '2026-01-30T23:59:59Z'), false);
  assert.equal(rotationDue(s, '2026-01-01T00:00:00Z', '2026-01-31T00:00:00Z'), true);
  assert.equal(rotationDue(spec(), '2020-01-01T00:00:00Z', '2026-01-31T00:00:00Z'), false);
});

test('timestamps compare as instants without the Date global', async () => {
  const { isoMillis } = await import('../shared/iso-time.js');
  for (const s of ['2026-11-25T13:35:26Z', '2000-02-29T23:59:59.123+05:30', '1969-12-31T23:00:00-01:00', '2031-01-02T03:04:05.000Z']) {
    assert.equal(isoMillis(s), Date.parse(s), s);
  }
  assert.ok(Number.isNaN(isoMillis('tomorrow')));
});
