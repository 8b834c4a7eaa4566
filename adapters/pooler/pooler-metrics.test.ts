import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createPoolerMetrics, type AdminRun } from './pooler-metrics.js';

const rows: Record<string, Record<string, string>[]> = {
  'SHOW POOLS': [{ database: 'app', user: 'app', cl_active: '3', cl_waiting: '2', sv_active: '3', sv_idle: '1', maxwait: '1', maxwait_us: '500000' }],
  'SHOW STATS': [{ database: 'app', total_xact_count: '42', total_query_count: '84', total_wait_time: '2500000' }],
};

test('SHOW POOLS and SHOW STATS become pgop_pooler_* series, labelled by pooler', async () => {
  const m = createPoolerMetrics({
    pooler: 'pool', maxClientConnections: () => 100, paused: () => true,
    admin: async <T>(fn: (run: AdminRun) => Promise<T>) => fn(async (c) => rows[c] ?? []),
  });
  await m.collect();
  const text = await m.registry.metrics();
  for (const line of [
    'pgop_pooler_up{pooler="pool"} 1', 'pgop_pooler_paused{pooler="pool"} 1', 'pgop_pooler_max_client_connections{pooler="pool"} 100',
    'pgop_pooler_client_active_connections{database="app",user="app",pooler="pool"} 3', 'pgop_pooler_client_waiting_connections{database="app",user="app",pooler="pool"} 2',
    'pgop_pooler_max_wait_seconds{database="app",user="app",pooler="pool"} 1.5', 'pgop_pooler_transactions_total{database="app",pooler="pool"} 42',
    'pgop_pooler_client_wait_seconds_total{database="app",pooler="pool"} 2.5',
  ]) assert.ok(text.includes(line), line);
});

test('a PgBouncer that does not answer shows as up 0 with no stale pool series', async () => {
  let answer = true;
  const m = createPoolerMetrics({
    pooler: 'pool', maxClientConnections: () => 100, paused: () => false,
    admin: async <T>(fn: (run: AdminRun) => Promise<T>) => { if (!answer) throw new Error('refused'); return fn(async (c) => rows[c] ?? []); },
  });
  await m.collect();
  answer = false;
  await m.collect();
  const text = await m.registry.metrics();
  assert.ok(text.includes('pgop_pooler_up{pooler="pool"} 0'));
  assert.ok(!text.includes('pgop_pooler_transactions_total{'));
});
