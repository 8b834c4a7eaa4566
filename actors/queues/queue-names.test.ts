import { test } from 'node:test';
import assert from 'node:assert/strict';
import { stepJobId, jobIdPrefix, STEP_KINDS } from './queue-names.js';

test('job ids carry kind, uid, generation and step; a recreated object of the same name gets a fresh id', () => {
  const before = stepJobId({ kind: 'PostgresCluster', uid: '6f1c0a8e-1', generation: 3 }, 'cloneInstance', 'demo-2');
  assert.equal(before, 'PostgresCluster-6f1c0a8e-1-3-cloneInstance-demo-2');
  assert.equal(stepJobId({ kind: 'PostgresCluster', uid: '6f1c0a8e-1', generation: 3 }, 'cloneInstance', 'demo-2'), before, 'same step, same id');
  const recreated = stepJobId({ kind: 'PostgresCluster', uid: '9a2d77c1-2', generation: 3 }, 'cloneInstance', 'demo-2');
  assert.notEqual(recreated, before);
  assert.ok(before.startsWith(jobIdPrefix('PostgresCluster', '6f1c0a8e-1')));
  assert.ok(!recreated.startsWith(jobIdPrefix('PostgresCluster', '6f1c0a8e-1')));
});

test('job ids never contain a colon and refuse an owner without uid', () => {
  assert.doesNotMatch(stepJobId({ kind: 'Kind:x', uid: 'a:b', generation: 1 }, 'cloneInstance', 'ns:name'), /:/);
  assert.throws(() => stepJobId({ kind: 'PostgresCluster', uid: '', generation: 1 }, 'cloneInstance'), /uid/);
});

test('every step kind has a policy with attempts, backoff and timeout', () => {
  for (const [name, p] of Object.entries(STEP_KINDS)) {
    assert.ok(p.attempts >= 1, name);
    assert.ok(p.backoff.delayMs > 0, name);
    assert.ok(p.timeoutMs > 0, name);
  }
});
