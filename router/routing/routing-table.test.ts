import { test } from 'node:test';
import assert from 'node:assert/strict';
import { buildRoutingTable, shardForKeyspaceId, RoutingTableError } from './routing-table.js';
import { evenRanges, parseShardName, shardName, keyspaceIdHex, KeyRangeError } from '../vindex/key-range.js';

const named = (n: number) => evenRanges(n).map((r) => ({ ...r, shard: shardName(r) }));

test('evenRanges names Vitess-style shards', () => {
  assert.deepEqual(evenRanges(2).map(shardName), ['-80', '80-']);
  assert.deepEqual(evenRanges(4).map(shardName), ['-40', '40-80', '80-c0', 'c0-']);
  assert.deepEqual(evenRanges(1).map(shardName), ['-']);
  assert.throws(() => evenRanges(3), /power of two/);
});

test('parseShardName reads both ends and refuses junk', () => {
  assert.deepEqual(parseShardName('-80'), { start: '', end: '80' });
  assert.deepEqual(parseShardName('80-C0'), { start: '80', end: 'c0' });
  assert.throws(() => parseShardName('80'), KeyRangeError);
  assert.throws(() => parseShardName('8-'), /whole bytes/);
  assert.throws(() => parseShardName("x'-"), /whole bytes/);
});

test('lookup puts an id in [start, end) on its hex form', () => {
  const t = buildRoutingTable({ generation: 7, ranges: named(4) });
  assert.equal(t.generation, 7);
  const at = (hex: string) => shardForKeyspaceId(t, BigInt(`0x${hex}`));
  assert.equal(at('0000000000000000'), '-40');
  assert.equal(at('3fffffffffffffff'), '-40');
  assert.equal(at('4000000000000000'), '40-80');
  assert.equal(at('7fffffffffffffff'), '40-80');
  assert.equal(at('8000000000000000'), '80-c0');
  assert.equal(at('c000000000000000'), 'c0-');
  assert.equal(at('ffffffffffffffff'), 'c0-');
  assert.equal(keyspaceIdHex(255n), '00000000000000ff');
});

test('unequal and multi-byte ranges, given in any order', () => {
  const t = buildRoutingTable({ generation: 1, ranges: [
    { shard: 'b', start: '80', end: '8040' }, { shard: 'c', start: '8040', end: '' }, { shard: 'a', start: '', end: '80' }] });
  assert.equal(shardForKeyspaceId(t, 0x803fffffffffffffn), 'b');
  assert.equal(shardForKeyspaceId(t, 0x8040000000000000n), 'c');
  assert.equal(shardForKeyspaceId(t, 5n), 'a');
});

test('validation names gaps, overlaps, duplicates and empty ranges', () => {
  assert.throws(() => buildRoutingTable({ generation: 1, ranges: [{ shard: 'a', start: '', end: '40' }, { shard: 'b', start: '80', end: '' }] }),
    (e: Error) => e instanceof RoutingTableError && /gap/.test(e.message) && /"40" up to "80"/.test(e.message));
  assert.throws(() => buildRoutingTable({ generation: 1, ranges: [{ shard: 'a', start: '', end: '90' }, { shard: 'b', start: '80', end: '' }] }), /overlap/);
  assert.throws(() => buildRoutingTable({ generation: 1, ranges: [{ shard: 'a', start: '', end: '80' }] }), /end of the keyspace/);
  assert.throws(() => buildRoutingTable({ generation: 1, ranges: [{ shard: 'a', start: '10', end: '' }] }), /gap/);
  assert.throws(() => buildRoutingTable({ generation: 1, ranges: [{ shard: 'a', start: '', end: '80' }, { shard: 'a', start: '80', end: '' }] }), /twice/);
  assert.throws(() => buildRoutingTable({ generation: 1, ranges: [{ shard: 'a', start: '80', end: '80' }] }), /empty/);
  assert.throws(() => buildRoutingTable({ generation: -1, ranges: named(2) }), /generation/);
  assert.throws(() => buildRoutingTable({ generation: 1, ranges: [] }), /at least one shard/);
});
