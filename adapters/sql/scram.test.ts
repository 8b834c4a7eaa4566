import { test } from 'node:test';
import assert from 'node:assert/strict';
import { scramVerifier, stableSalt } from './scram.js';
import { verifierMatches } from './scram-match.js';

test('a stable salt gives one verifier per cluster and role (the same on every shard), still matching the password', () => {
  const a = scramVerifier('pw-1', 4096, stableSalt('uid-1', 'writer'));
  assert.equal(scramVerifier('pw-1', 4096, stableSalt('uid-1', 'writer')), a, 'computed twice (two shards): identical');
  assert.ok(verifierMatches('pw-1', a));
  assert.ok(!verifierMatches('pw-2', a));
  assert.match(a, /^SCRAM-SHA-256\$4096:[A-Za-z0-9+/=]+\$[A-Za-z0-9+/=]+:[A-Za-z0-9+/=]+$/);
  assert.notEqual(scramVerifier('pw-1', 4096, stableSalt('uid-2', 'writer')), a, 'another cluster, another salt');
  assert.notEqual(scramVerifier('pw-1', 4096, stableSalt('uid-1', 'reader')), a, 'another role, another salt');
  assert.notEqual(scramVerifier('pw-1'), scramVerifier('pw-1'), 'unsharded: a fresh salt each time');
});
