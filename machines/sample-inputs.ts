// A plausible input per machine id, shared by the effect-failure test (machines/effect-failures.test.ts) and the
// snapshot recorder (tests/fixtures/snapshots/record.ts). A machine added to the catalog without one fails the
// effect-failure test: add it here. Test data only; no runtime code imports it.
const cluster = { namespace: 'default', name: 'demo' };
const at = '2026-01-01T00:00:00.000Z';

/** Input of every machine spawned from its binding's input (the cluster machine's recorder uses a ready fixture). */
export const sampleInputs: Readonly<Record<string, unknown>> = {
  cluster: { ...cluster, uid: 'uid-demo', spec: { instances: 3, primaryUpdateStrategy: 'unsupervised' }, generation: 1 },
  instance: { cluster, owner: { uid: 'uid-demo', generation: 1 }, name: 'demo-2', serial: 2, bootstrap: 'clone', primary: 'demo-1' },
  failover: { cluster, oldPrimary: 'demo-1', replicas: ['demo-2', 'demo-3'], synchronous: null, maxLagBytes: null, lastPrimaryLsn: null, reason: 'primary demo-1 lost', startedAt: at },
  switchover: { cluster, requestId: 'r1', primary: 'demo-1', target: null, replicas: ['demo-2', 'demo-3'], startedAt: at },
  agent: { instance: 'demo-1', bootstrap: 'initdb', maxBackoffMs: 8000, leaseMs: 5000 },
  backup: { namespace: 'default', name: 'b1', uid: 'u1', generation: 1, cluster: 'demo', backupType: 'full', target: 'prefer-standby', kind: 'backup', createdAt: at },
  pooler: { namespace: 'default', name: 'demo-pooler', generation: 1, spec: { cluster: { name: 'demo' }, type: 'rw', instances: 1, paused: false, pgbouncer: { poolMode: 'session', defaultPoolSize: 20, maxClientConnections: 100 } } },
  user: { namespace: 'default', name: 'app', spec: { cluster: { name: 'demo' }, name: 'app', reclaimPolicy: 'delete' }, generation: 1 },
  database: { namespace: 'default', name: 'shop', spec: { cluster: { name: 'demo' }, name: 'shop', owner: 'app', reclaimPolicy: 'delete' }, generation: 1 },
  shardRange: { namespace: 'default', name: 'demo-orders', generation: 1, spec: { cluster: { name: 'demo' }, tableGroup: 'orders', vindex: { type: 'hash', column: 'customer_id' }, ranges: [{ start: '', end: '80', shard: '-80' }, { start: '80', end: '', shard: '80-' }] } },
  restoreVerify: { namespace: 'default', name: 'demo', uid: 'uid-demo', schedule: '0 3 * * *', keep: 5 },
  imageCatalog: { kind: 'ImageCatalog', namespace: 'default', name: 'pg-images', generation: 1, spec: { images: [{ major: 16, image: 'ghcr.io/keiailab/pgop-postgres:16' }] } },
  scheduledBackup: { namespace: 'default', name: 'nightly', uid: 'sb-uid', generation: 1, createdAt: at, spec: { cluster: { name: 'demo' }, schedule: '30 2 * * *', suspend: false, immediate: false, backupType: 'full', target: 'prefer-standby', concurrencyPolicy: 'forbid', successfulJobsHistoryLimit: 3, failedJobsHistoryLimit: 1 } },
};
