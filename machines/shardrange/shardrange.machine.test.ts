// The shardRange machine with fake effects: valid ranges over existing shards are published with version 1; a
// spec change that moves a boundary bumps the version, one that does not keeps it; a gap, an overlap or a missing
// shard is Ready=False with a reason naming it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createActor, fromPromise, fromCallback, type AnyEventObject } from 'xstate';
import { shardRangeMachine } from './shardrange.machine.js';
import { selectShardRangeStatus } from './shardrange.selectors.js';
import { rangeProblems } from './shardrange.logic.js';
import type { CheckShardsInput, CheckShardsOutput, ShardRangeSpec } from './shardrange.types.js';

const settle = () => new Promise((r) => setImmediate(r));
const spec = (ranges: [string, string, string][], column = 'customer_id'): ShardRangeSpec => ({
  cluster: { name: 'shop' }, tableGroup: 'orders', vindex: { type: 'hash', column }, tables: ['orders'],
  ranges: ranges.map(([start, end, shard]) => ({ start, end, shard })),
});
const two = spec([['', '80', '-80'], ['80', '', '80-']]);

function start(existing: Set<string>, initial = two) {
  const recheck: { fire?: () => void } = {};
  const m = shardRangeMachine.provide({
    actors: {
      checkShards: fromPromise<CheckShardsOutput, CheckShardsInput>(async ({ input }) => input.shards.filter((s) => !existing.has(s))),
      waitToRecheck: fromCallback<AnyEventObject, CheckShardsInput>(({ sendBack }) => { recheck.fire = () => sendBack({ type: 'shardRange.sync' }); return () => undefined; }),
    },
  });
  const actor = createActor(m, { input: { namespace: 'default', name: 'shop-orders', spec: initial, generation: 1 } }).start();
  return { actor, recheck };
}

test('valid ranges over existing shards are published as version 1', async () => {
  const { actor } = start(new Set(['-80', '80-']));
  await settle();
  const s = selectShardRangeStatus(actor.getSnapshot());
  assert.equal(s.phase, 'Ready');
  assert.equal(s.version, 1);
  assert.equal(s.conditions[0]?.status, 'True');
});

test('the version bumps on every routing change and only then', async () => {
  const existing = new Set(['-80', '80-', '-40', '40-80']);
  const { actor } = start(existing);
  await settle();
  actor.send({ type: 'spec.changed', spec: { ...two, ranges: [...two.ranges].reverse() }, generation: 2 });
  await settle();
  assert.equal(selectShardRangeStatus(actor.getSnapshot()).version, 1, 'the same ranges in another order are the same routing');
  actor.send({ type: 'spec.changed', spec: spec([['', '40', '-40'], ['40', '80', '40-80'], ['80', '', '80-']]), generation: 3 });
  await settle();
  assert.equal(selectShardRangeStatus(actor.getSnapshot()).version, 2);
  actor.send({ type: 'spec.changed', spec: spec([['', '40', '-40'], ['40', '80', '40-80'], ['80', '', '80-']], 'order_id'), generation: 4 });
  await settle();
  assert.equal(selectShardRangeStatus(actor.getSnapshot()).version, 3, 'a new vindex column is a routing change');
});

test('a missing shard is Ready=False ShardsMissing until its cluster appears', async () => {
  const existing = new Set(['-80']);
  const { actor, recheck } = start(existing);
  await settle();
  let s = selectShardRangeStatus(actor.getSnapshot());
  assert.equal(s.phase, 'WaitingForShards');
  assert.deepEqual([s.conditions[0]?.status, s.conditions[0]?.reason], ['False', 'ShardsMissing']);
  assert.match(s.message, /no PostgresCluster for shard "80-" of cluster shop/);
  assert.equal(s.version, undefined, 'nothing published yet');
  existing.add('80-');
  recheck.fire?.();
  await settle();
  s = selectShardRangeStatus(actor.getSnapshot());
  assert.equal(s.phase, 'Ready');
  assert.equal(s.version, 1);
});

test('gaps, overlaps and bad shard names are named; the published routing stays until a valid spec', async () => {
  assert.match(rangeProblems(spec([['', '40', '-40'], ['80', '', '80-']])).join(), /gap from "40" up to "80"/);
  assert.match(rangeProblems(spec([['', '90', '-90'], ['80', '', '80-']])).join(), /overlaps/);
  assert.match(rangeProblems(spec([['', '80', '-80']])).join(), /end of the keyspace/);
  assert.match(rangeProblems(spec([['', '80', "x'-"], ['80', '', '80-']])).join(), /must be a key-range shard name/);
  assert.match(rangeProblems(spec([['', '80', '-80'], ['80', '', '-80']])).join(), /holds two ranges/);
  const { actor } = start(new Set(['-80', '80-', '-40']));
  await settle();
  actor.send({ type: 'spec.changed', spec: spec([['', '40', '-40'], ['80', '', '80-']]), generation: 2 });
  await settle();
  const s = selectShardRangeStatus(actor.getSnapshot());
  assert.deepEqual([s.phase, s.conditions[0]?.reason], ['Invalid', 'InvalidRanges']);
  assert.match(s.message, /gap/);
  assert.equal(s.version, 1, 'the last published version stays');
  actor.send({ type: 'shardRange.deleted' });
  assert.equal(actor.getSnapshot().status, 'done');
});
