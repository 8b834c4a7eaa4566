import { test } from 'node:test';
import assert from 'node:assert/strict';
import { compareLsn, lsnDiff, lsnToBigInt } from './lsn.js';

test('LSNs compare as 64-bit positions, not strings', () => {
  assert.equal(compareLsn('0/A0000000', '1/0'), -1);
  assert.equal(compareLsn('16/B374D848', '16/B374D848'), 0);
  assert.equal(lsnDiff('1/0', '0/FFFFFFFF'), 1);
  assert.equal(lsnDiff('0/10', '0/20'), 0);
  assert.equal(lsnToBigInt('1/0'), 4294967296n);
  assert.throws(() => lsnToBigInt('nope'), /not an LSN/);
});
