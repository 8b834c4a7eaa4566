import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Lanes } from './lanes.js';

test('work for one key runs in order and never overlaps; a failure is reported and does not block the lane', async () => {
  const errors: string[] = [];
  const lanes = new Lanes((id, e) => errors.push(`${id}: ${(e as Error).message}`));
  const log: string[] = [];
  let active = 0;
  const task = (name: string, ms: number, fail = false) => async () => {
    active++;
    assert.equal(active, 1, 'no overlap within a lane');
    await new Promise((r) => setTimeout(r, ms));
    log.push(name);
    active--;
    if (fail) throw new Error(`${name} failed`);
  };
  void lanes.run('a', task('a1', 20));
  void lanes.run('a', task('a2', 1, true));
  void lanes.run('a', task('a3', 1));
  await lanes.idle();
  assert.deepEqual(log, ['a1', 'a2', 'a3']);
  assert.deepEqual(errors, ['a: a2 failed']);
});

test('different keys run independently', async () => {
  const lanes = new Lanes(() => undefined);
  const order: string[] = [];
  void lanes.run('slow', async () => { await new Promise((r) => setTimeout(r, 30)); order.push('slow'); });
  void lanes.run('fast', async () => { order.push('fast'); });
  await lanes.idle();
  assert.deepEqual(order, ['fast', 'slow']);
});
