// Values recorded from PostgreSQL 15 (`select lpad(to_hex(hashint8extended(k, 0)), 16, '0')`); the integration test
// tests/integration/router-hash.test.ts compares thousands more against a live server.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { integerKeyspaceId, textKeyspaceId, VindexValueError } from './hash-vindex.js';
import { keyspaceIdHex } from './key-range.js';

test('integer keys accept bigint, safe numbers and decimal text, and refuse the rest', () => {
  assert.equal(integerKeyspaceId(42n), integerKeyspaceId(42));
  assert.equal(integerKeyspaceId(' 42 '), integerKeyspaceId('+42'));
  assert.throws(() => integerKeyspaceId('4x'), VindexValueError);
  assert.throws(() => integerKeyspaceId(2 ** 60), /safe integer/);
  assert.throws(() => integerKeyspaceId('9223372036854775808'), /int8/);
});

test('recorded PostgreSQL values', () => {
  for (const [k, hex] of RECORDED_INT) assert.equal(keyspaceIdHex(integerKeyspaceId(k)), hex, `int ${k}`);
  for (const [t, hex] of RECORDED_TEXT) assert.equal(keyspaceIdHex(textKeyspaceId(t)), hex, `text ${t}`);
});

const RECORDED_INT: [bigint, string][] = [
  [0n, '39a825beefbec0af'],
  [1n, 'cd0f69c48e731746'],
  [-1n, 'e5cb8f9016fe094a'],
  [42n, '6f2a09a559fcfec8'],
  [-9223372036854775808n, '8195f04afa3b9613'],
  [9223372036854775807n, '1b707e5fa5243fb7'],
];
const RECORDED_TEXT: [string, string][] = [
  ['', '9fb1b765a7ea466d'],
  ['a', '31d94c66401370b1'],
  ['hello world', '606a01613ce64a27'],
  ['naïve café', '847c81e893fa0614'],
  ['日本語', '27d73c3f210d4344'],
  ['abcdefghijkl', '97216e83a1763ad4'],
  ['abcdefghijklm', '7b1e572e1830c6d0'],
];
