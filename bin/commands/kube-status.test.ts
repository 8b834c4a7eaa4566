import { test } from 'node:test';
import assert from 'node:assert/strict';
import { renderStatus } from './kube-status.js';
import type { PostgresCluster } from '../../crds/postgrescluster.js';

const cluster = {
  apiVersion: 'postgres.keiailab.io/v1alpha1', kind: 'PostgresCluster',
  metadata: { name: 'demo', namespace: 'db', annotations: { 'postgres.keiailab.io/fenced-instances': '["demo-3"]' } },
  spec: { instances: 3 },
  status: {
    phase: 'Ready', currentPrimary: 'demo-2', timeline: 2, readyInstances: 3,
    instances: [
      { name: 'demo-1', role: 'replica', ready: true, phase: 'streaming', timeline: 2, replayLsn: '0/3000100', lagBytes: 3 * 1024 * 1024 },
      { name: 'demo-2', role: 'primary', ready: true, phase: 'running', timeline: 2, currentLsn: '0/3000100' },
    ],
    failovers: [{ kind: 'switchover', outcome: 'promoted', from: 'demo-1', to: 'demo-2', timeline: 2, reason: 'switchover ab12cd34', startedAt: '2026-01-01T00:00:00Z', finishedAt: '2026-01-01T00:00:04Z', durationMs: 4000, steps: [] }],
  },
} as unknown as PostgresCluster;

test('status renders the cluster, its instances with lag, the last plans, backups and the certificate', () => {
  const text = renderStatus({
    cluster, poolers: [], backups: [{ metadata: { name: 'nightly', creationTimestamp: '2026-01-01T23:00:00Z' }, status: { phase: 'Completed' } }],
    certificate: { subject: 'CN=demo.db', notAfter: '2026-03-01T00:00:00.000Z', names: 'DNS:demo-rw' },
  }, new Date('2026-01-02T00:00:00Z'));
  assert.match(text, /^Primary: +demo-2$/m);
  assert.match(text, /^Fenced: +\["demo-3"\]$/m);
  assert.match(text, /^demo-1 +replica +true +streaming +2 +0\/3000100 +3\.0 MiB$/m);
  assert.match(text, /^switchover +promoted +demo-1 +demo-2 +2 +4000 ms +\S+$/m);
  assert.match(text, /^nightly +Completed +60m$/m);
  assert.match(text, /expires 2026-03-01T00:00:00.000Z \(in 58 days\)/);
});

test('a sharded cluster\'s status names its shards and its router: endpoint, readiness, routing generation, CA Secret', () => {
  const sharded = {
    ...cluster, metadata: { name: 'shop', namespace: 'db' }, spec: { instances: 1 },
    status: {
      phase: 'Ready', shardsReady: '2/2', shards: [{ name: '-80', cluster: 'shop-min-80', phase: 'Ready' }, { name: '80-', cluster: 'shop-80-max', phase: 'Ready' }],
      router: { endpoint: 'shop-router.db.svc:5432', caSecret: 'shop-min-80-ca', replicas: 2, readyReplicas: 2, generation: 3 },
    },
  } as unknown as PostgresCluster;
  const text = renderStatus({ cluster: sharded, poolers: [], backups: [], certificate: null });
  assert.match(text, /^Shards: +2\/2 ready \(-80 shop-min-80 Ready, 80- shop-80-max Ready\)$/m);
  assert.match(text, /^Router: +shop-router\.db\.svc:5432, 2\/2 ready, routing generation 3 \(CA: Secret shop-min-80-ca\)$/m);
});
