import { test } from 'node:test';
import assert from 'node:assert/strict';
import { synchronousStandbyNames } from './sync.js';

const spec = (dataDurability: 'required' | 'preferred', method: 'any' | 'first' = 'any', number = 1) =>
  ({ name: 'db-1', members: ['db-1', 'db-2', 'db-3'], synchronous: { method, number, dataDurability } });

test('required lists every standby whatever is streaming, so commits wait rather than lose durability', () => {
  assert.equal(synchronousStandbyNames(spec('required'), []), 'ANY 1 ("db-2", "db-3")');
  assert.equal(synchronousStandbyNames(spec('required', 'first', 2), ['db-2']), 'FIRST 2 ("db-2", "db-3")');
});

test('preferred lists only streaming standbys and falls back to asynchronous when none is', () => {
  assert.equal(synchronousStandbyNames(spec('preferred', 'any', 2), ['db-3']), 'ANY 1 ("db-3")');
  assert.equal(synchronousStandbyNames(spec('preferred'), []), '');
  assert.equal(synchronousStandbyNames(spec('preferred'), ['db-2', 'db-3']), 'ANY 1 ("db-2", "db-3")');
});

test('no synchronous spec means asynchronous, and names are quoted', () => {
  assert.equal(synchronousStandbyNames({ name: 'a', members: ['a', 'b'], synchronous: null }, ['b']), '');
  assert.equal(synchronousStandbyNames({ name: 'a', members: ['a', 'we"ird'], synchronous: { method: 'any', number: 1, dataDurability: 'required' } }, []), 'ANY 1 ("we""ird")');
});
