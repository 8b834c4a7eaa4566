import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseVerifyRequest } from './verify-action.js';
import { BadRequest } from './api-auth.js';
import { rehearsalInstance } from '../adapters/backup/agent-verify-step.js';

const fp = { lsn: '0/3000060', takenAt: '2026-12-05T10:00:00Z', tables: [{ database: 'app', schema: 'public', table: 'orders', rows: 3 }], tablesTotal: 1 };

test('POST /verify takes a time and, optionally, one labelled fingerprint of the right shape: anything else is a 400', () => {
  assert.deepEqual(parseVerifyRequest({ startedAt: '2026-12-05T10:00:00Z' }), { startedAt: '2026-12-05T10:00:00Z', fingerprint: null });
  assert.deepEqual(parseVerifyRequest({ startedAt: '2026-12-05T10:00:00Z', fingerprint: { label: '20261205-100000F', value: fp } }).fingerprint,
    { label: '20261205-100000F', value: fp });
  const named = { ...fp, restorePoint: 'pgop-fp-20261205-100000F-mk2x9a1b' };
  assert.deepEqual(parseVerifyRequest({ startedAt: '2026-12-05T10:00:00Z', fingerprint: { label: '20261205-100000F', value: named } }).fingerprint,
    { label: '20261205-100000F', value: named });
  for (const body of [
    { startedAt: '2026-12-05T10:00:00Z', fingerprint: { label: '20261205-100000F', value: { ...fp, restorePoint: "x' --type=time" } } },
    { startedAt: 'soon' },
    { startedAt: '2026-12-05T10:00:00Z', fingerprint: { label: '20261205-100000F --set=x', value: fp } },
    { startedAt: '2026-12-05T10:00:00Z', fingerprint: { label: '20261205-100000F', value: { ...fp, lsn: "0/1'; DROP" } } },
    { startedAt: '2026-12-05T10:00:00Z', fingerprint: { label: '20261205-100000F', value: { ...fp, tables: [{ database: 'app', schema: 'public', table: 'x\u0000y', rows: 1 }] } } },
    { startedAt: '2026-12-05T10:00:00Z', fingerprint: { label: '20261205-100000F', value: { ...fp, tables: [{ database: 'app', schema: 'public', table: 't', rows: -1 }] } } },
    { startedAt: '2026-12-05T10:00:00Z', fingerprint: { label: '20261205-100000F', value: { ...fp, tables: Array.from({ length: 501 }, () => fp.tables[0]) } } },
  ]) assert.throws(() => parseVerifyRequest(body as Record<string, unknown>), BadRequest, JSON.stringify(body).slice(0, 120));
});

test('rehearsals run on the ready replica with the least lag, else on the primary', () => {
  const inst = (name: string, role: 'primary' | 'replica', ready: boolean, lagBytes = 0) => ({ name, role, ready, lagBytes });
  const status = (instances: ReturnType<typeof inst>[]) => ({ currentPrimary: 'c-1', instances }) as never;
  assert.equal(rehearsalInstance(status([inst('c-1', 'primary', true), inst('c-2', 'replica', true, 900), inst('c-3', 'replica', true, 10)])), 'c-3');
  assert.equal(rehearsalInstance(status([inst('c-1', 'primary', true), inst('c-2', 'replica', false)])), 'c-1');
  assert.equal(rehearsalInstance(undefined), null);
});
