import { test } from 'node:test';
import assert from 'node:assert/strict';
import { planSchedule } from './cron-plan.js';

const t = (s: string) => new Date(s);

test('nothing missed: wait for the next occurrence (6 fields, seconds first)', () => {
  const p = planSchedule('*/10 * * * * *', t('2026-01-01T00:00:00Z'), t('2026-01-01T00:00:04Z'), true);
  assert.deepEqual(p, { kind: 'wait', next: t('2026-01-01T00:00:10Z') });
});

test('after an outage that missed many runs: one run, at the latest missed occurrence, the rest counted', () => {
  const p = planSchedule('*/10 * * * * *', t('2026-01-01T00:00:00Z'), t('2026-01-01T00:01:05Z'), true);
  assert.equal(p.kind, 'due');
  if (p.kind !== 'due') return;
  assert.equal(p.scheduledAt.toISOString(), '2026-01-01T00:01:00.000Z');
  assert.equal(p.missed, 5, '00:10 … 00:50 are passed over');
  assert.equal(p.next?.toISOString(), '2026-01-01T00:01:10.000Z');
});

test('a daily schedule a year behind finds its latest occurrence without walking the year', () => {
  const p = planSchedule('30 2 * * *', t('2025-01-01T00:00:00Z'), t('2026-01-01T12:00:00Z'), true);
  assert.equal(p.kind, 'due');
  if (p.kind === 'due') { assert.equal(p.scheduledAt.toISOString(), '2026-01-01T02:30:00.000Z'); assert.equal(p.missed, 365); }
});

test('without catch-up (a suspension ended) missed runs are passed over', () => {
  const p = planSchedule('*/10 * * * * *', t('2026-01-01T00:00:00Z'), t('2026-01-01T00:01:05Z'), false);
  assert.deepEqual(p, { kind: 'wait', next: t('2026-01-01T00:01:10Z') });
});

test('an occurrence exactly at since is already handled', () => {
  const p = planSchedule('*/10 * * * * *', t('2026-01-01T00:00:10Z'), t('2026-01-01T00:00:10.500Z'), true);
  assert.deepEqual(p, { kind: 'wait', next: t('2026-01-01T00:00:20Z') });
});

test('an invalid schedule throws with the library\'s reason', () => {
  assert.throws(() => planSchedule('61 * * * *', t('2026-01-01T00:00:00Z'), t('2026-01-01T00:00:00Z'), true), /minute/);
});
