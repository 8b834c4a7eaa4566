import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fingerprintMismatches } from './fingerprint.js';
import { scheduleProblem, nextRunAfter } from '../../crds/cron-schedule.js';

const recorded = {
  lsn: '0/3000100', takenAt: '2026-01-01T00:00:00.000Z', tablesTotal: 3,
  tables: [
    { database: 'app', schema: 'public', table: 'orders', rows: 10 },
    { database: 'app', schema: 'audit', table: 'log', rows: 0 },
    { database: 'shop', schema: 'public', table: 'items', rows: 5 },
  ],
};

test('a restored copy matches its fingerprint only with every recorded table at its recorded count', () => {
  assert.deepEqual(fingerprintMismatches(recorded, new Map([['app.public.orders', 10], ['app.audit.log', 0], ['shop.public.items', 5], ['app.public.extra', 1]])), []);
  assert.deepEqual(fingerprintMismatches(recorded, new Map<string, number | null>([['app.public.orders', 9], ['app.audit.log', null]])), [
    'app.public.orders: 9 rows (expected 10)', 'app.audit.log: missing (expected 0 rows)', 'shop.public.items: missing (expected 5 rows)',
  ]);
});

test('schedules: croner reads 5 and 6 fields; nonsense and every-second schedules are refused', () => {
  assert.equal(scheduleProblem('0 3 * * *'), null);
  assert.equal(scheduleProblem('*/30 * * * * *'), null);
  assert.match(scheduleProblem('every day') ?? '', /not a cron expression/);
  assert.match(scheduleProblem('* * * * * *') ?? '', /more often than every 10 s/);
  assert.equal(nextRunAfter('0 3 * * *', '2026-01-01T03:00:00.000Z'), '2026-01-02T03:00:00.000Z');
  assert.equal(nextRunAfter('0 3 * * *', 'not a time'), null);
});
