import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseFencedInstances, parseHibernation } from './power.logic.js';

const members = ['demo-1', 'demo-2', 'demo-3'];

test('fenced-instances: names of this cluster, or "*"', () => {
  assert.deepEqual(parseFencedInstances('["demo-3","demo-2","demo-2"]', members), { instances: ['demo-2', 'demo-3'], error: null });
  assert.deepEqual(parseFencedInstances('["*"]', members), { instances: ['*'], error: null });
  assert.deepEqual(parseFencedInstances('[]', members), { instances: [], error: null });
  assert.deepEqual(parseFencedInstances(null, members), { instances: [], error: null });
});

test('fenced-instances: bad content is an error naming the annotation and the fix', () => {
  for (const raw of ['demo-2', '"demo-2"', '{"demo-2":true}', '[2]', '["other-1"]', '["*","demo-1"]', '[null]']) {
    const r = parseFencedInstances(raw, members);
    assert.deepEqual(r.instances, [], raw);
    assert.match(r.error ?? '', /^postgres\.keiailab\.io\/fenced-instances\b/, raw);
    assert.match(r.error ?? '', /remove it to lift fencing/, raw);
  }
});

test('hibernation: on or off, anything else reported', () => {
  assert.deepEqual(parseHibernation('on'), { on: true, error: null });
  assert.deepEqual(parseHibernation(' OFF '), { on: false, error: null });
  assert.deepEqual(parseHibernation(null), { on: null, error: null });
  assert.match(parseHibernation('yes').error ?? '', /postgres\.keiailab\.io\/hibernation must be "on" or "off"/);
});
