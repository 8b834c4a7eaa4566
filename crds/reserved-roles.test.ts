import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parse } from '@marcbachmann/cel-js';
import { isReservedRoleName, notReservedRoleCel } from './reserved-roles.js';

test('operator roles, PostgreSQL reserved names and the pg_/pgop_ prefixes are reserved in any case; the CEL agrees', () => {
  const cel = parse(notReservedRoleCel('self'));
  const cases: [string, boolean][] = [
    ['postgres', true], ['POSTGRES', true], ['streaming_replica', true], ['pg_monitor', true], ['PG_x', true], ['pgop_pooler', true],
    ['public', true], ['current_user', true], ['app', false], ['shop_owner', false], ['pgx', false], ['postgres2', false],
  ];
  for (const [name, reserved] of cases) {
    assert.equal(isReservedRoleName(name), reserved, name);
    assert.equal(cel({ self: name }), !reserved, `CEL for ${name}`);
  }
});
