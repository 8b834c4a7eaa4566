// The SnapshotStore port on a real Redis: an envelope saved by one operator is read back, migrated or refused.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Redis } from 'ioredis';
import { RedisSnapshotStore } from '../../adapters/redis/redis-snapshot-store.js';
import { StateDir } from '../../adapters/local/state-dir.js';
import { startRedis, stopRedis } from '../../adapters/local/redis-server.js';
import { connectRedis } from '../../adapters/redis/connection.js';
import { envelope, readEnvelope } from '../../actors/persistence/envelope.js';
import { repoRoot, stateDir } from '../helpers/cli.js';

let redis: Redis;
let store: RedisSnapshotStore;
let pid: number;

before(async () => {
  const r = await startRedis(new StateDir(stateDir('pgop-snapshots-')));
  pid = r.pid;
  redis = connectRedis(r.url);
  store = new RedisSnapshotStore(redis);
});
after(async () => { redis.disconnect(); await stopRedis(pid); });

test('an envelope round-trips, an old version migrates, and an unreadable one is refused, not dropped', async () => {
  const snapshot = JSON.parse(readFileSync(join(repoRoot, 'tests', 'fixtures', 'snapshots', 'switchover.v1.json'), 'utf8')) as object;
  await store.save('tx-1', envelope('switchover', 1, snapshot, new Date('2026-01-01T00:00:00Z')));
  const read = readEnvelope('switchover', await store.load('tx-1'));
  assert.equal(read.kind, 'ok');
  assert.deepEqual(read.kind === 'ok' ? read.envelope.snapshot : null, snapshot);

  const cluster = JSON.parse(readFileSync(join(repoRoot, 'tests', 'fixtures', 'snapshots', 'cluster.v1.json'), 'utf8')) as object;
  await store.save('old', { machineId: 'cluster', version: 1, observedGeneration: 1, savedAt: '', snapshot: cluster });
  const migrated = readEnvelope('cluster', await store.load('old'), { uid: 'u-1', generation: 1 });
  assert.equal(migrated.kind === 'ok' ? migrated.migratedFrom : null, 1);

  await redis.set('pgop:snapshot:broken', '{"machineId": "cluster", "vers');
  assert.equal(readEnvelope('cluster', await store.load('broken')).kind, 'incompatible');
  assert.equal(readEnvelope('cluster', await store.load('missing')).kind, 'none');
  await store.remove('tx-1');
  assert.equal(await store.load('tx-1'), undefined);
});
