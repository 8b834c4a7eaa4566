import { test } from 'node:test';
import assert from 'node:assert/strict';
import { rankCandidates, hasQuorum, quorumNeeded } from './failover.logic.js';
import type { Candidate } from './failover.types.js';

const c = (name: string, lsn: string | null, reachable = true): Candidate => ({ name, reachable, timeline: 1, receiveLsn: lsn, replayLsn: lsn });
const required = { method: 'any' as const, number: 1, dataDurability: 'required' as const };
const base = { synchronous: null, total: 2, maxLagBytes: null, lastPrimaryLsn: null, exclude: [] };

test('async: the most advanced reachable replica comes first', () => {
  assert.deepEqual(rankCandidates([c('a', '0/100'), c('b', '0/300'), c('x', null, false)], base).ranked, ['b', 'a']);
  assert.deepEqual(rankCandidates([c('a', '0/100'), c('b', '0/300')], { ...base, exclude: ['b'] }).ranked, ['a']);
});

test('ties break by name so the choice is deterministic', () => {
  assert.deepEqual(rankCandidates([c('b', '0/100'), c('a', '0/100')], base).ranked, ['a', 'b']);
});

test('required: ANY 1 of 2 needs both standbys to answer before promoting', () => {
  assert.equal(quorumNeeded(required, 2), 2);
  assert.equal(hasQuorum(required, [c('a', '0/100'), c('b', null, false)], 2), false);
  const r = rankCandidates([c('a', '0/100'), c('b', null, false)], { ...base, synchronous: required });
  assert.deepEqual(r.ranked, []);
  assert.match(r.reason, /1 of 2 standbys answered; 2 are needed/);
});

test('required: only standbys as advanced as the best are eligible, even after the best failed', () => {
  const ranking = rankCandidates([c('a', '0/100'), c('b', '0/300')], { ...base, synchronous: required });
  assert.deepEqual(ranking.ranked, ['b']);
  const afterFailure = rankCandidates([c('a', '0/100'), c('b', '0/300')], { ...base, synchronous: required, exclude: ['b'] });
  assert.deepEqual(afterFailure.ranked, [], 'a might miss acknowledged commits');
});

test('required: ANY 2 of 3 with one standby down still has quorum; ANY 1 of 3 does not', () => {
  const cs = [c('a', '0/100'), c('b', '0/200'), c('d', null, false)];
  assert.deepEqual(rankCandidates(cs, { ...base, synchronous: { ...required, number: 2 }, total: 3 }).ranked, ['b']);
  assert.deepEqual(rankCandidates(cs, { ...base, synchronous: required, total: 3 }).ranked, [], 'd alone may hold the last commit');
});

test('preferred behaves like async', () => {
  const preferred = { ...required, dataDurability: 'preferred' as const };
  assert.deepEqual(rankCandidates([c('a', '0/100'), c('b', null, false)], { ...base, synchronous: preferred }).ranked, ['a']);
});

test('maxLagOnFailover excludes replicas too far behind the last known primary position', () => {
  const r = rankCandidates([c('a', '0/100'), c('b', '0/1000')], { ...base, maxLagBytes: 0x200, lastPrimaryLsn: '0/1100' });
  assert.deepEqual(r.ranked, ['b']);
});

test('a replica on a newer timeline outranks one further ahead on an older timeline', () => {
  const old = { ...c('a', '0/900'), timeline: 1 };
  const newer = { ...c('b', '0/300'), timeline: 2 };
  assert.deepEqual(rankCandidates([old, newer], base).ranked, ['b', 'a']);
});

test('a fenced replica is never ranked, however advanced (ADR 0028)', () => {
  const r = rankCandidates([c('demo-2', '0/300'), c('demo-3', '0/100')], { ...base, exclude: ['demo-2'] });
  assert.deepEqual(r.ranked, ['demo-3']);
});
