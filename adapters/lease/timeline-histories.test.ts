import { test } from 'node:test';
import assert from 'node:assert/strict';
import { timelinesToPrune, KEEP_TIMELINES } from './timeline-histories.js';

const entries = (n: number, size = 10) => Object.fromEntries(Array.from({ length: n }, (_, i) => [String(i + 2), 'x'.repeat(size)]));

test('the newest timelines are kept, the oldest pruned', () => {
  assert.deepEqual(timelinesToPrune(entries(KEEP_TIMELINES)), []);
  const drop = timelinesToPrune(entries(KEEP_TIMELINES + 8));
  assert.deepEqual(drop.map(Number).sort((a, b) => a - b), [2, 3, 4, 5, 6, 7, 8, 9]);
});

test('numeric order, not string order, decides which are newest', () => {
  assert.deepEqual(timelinesToPrune({ 9: 'a', 10: 'b', 100: 'c' }, 2), ['9']);
});

test('a total size cap prunes older ones too, but never the newest', () => {
  assert.deepEqual(timelinesToPrune({ 2: 'x'.repeat(60), 3: 'x'.repeat(60), 4: 'x'.repeat(60) }, 32, 150).sort(), ['2']);
  assert.deepEqual(timelinesToPrune({ 7: 'x'.repeat(500) }, 32, 100), [], 'the newest stays whatever its size');
});
