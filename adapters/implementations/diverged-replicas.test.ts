import { test } from 'node:test';
import assert from 'node:assert/strict';
import { forkPoints } from './diverged-replicas.js';

test('a timeline history file gives each parent timeline its switch point', () => {
  const history = '1\t0/502A920\tno recovery target specified\n\n2\t0/7000000\tno recovery target specified\n';
  assert.deepEqual([...forkPoints(history)], [[1, '0/502A920'], [2, '0/7000000']]);
});

test('lines that are not history entries are ignored', () => {
  assert.deepEqual([...forkPoints('# comment\n\nx\t0/1\n3\tnot-an-lsn\n')], []);
});
