// The local resource store on a real redis-server: generations, optimistic status writes, finalizers, watch.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { RedisResourceStore } from '../../adapters/local/redis-store.js';
import { StateDir } from '../../adapters/local/state-dir.js';
import { startRedis, stopRedis } from '../../adapters/local/redis-server.js';
import { connectRedis } from '../../adapters/redis/connection.js';
import { FINALIZER, type WatchEvent } from '../../actors/ports/resource-store.js';
import { stateDir } from '../helpers/cli.js';

let store: RedisResourceStore;
let pid: number;
const key = { kind: 'PostgresCluster', namespace: 'default', name: 'db' };
const manifest = (instances: number) => ({ apiVersion: 'postgres.keiailab.io/v1alpha1', kind: 'PostgresCluster', metadata: { name: 'db' }, spec: { instances } });

before(async () => {
  const r = await startRedis(new StateDir(stateDir('pgop-store-')));
  pid = r.pid;
  store = new RedisResourceStore(connectRedis(r.url));
});
after(async () => { await store.close(); await stopRedis(pid); });

test('generation moves only when the spec changes', async () => {
  const created = await store.apply(manifest(1));
  assert.equal(created.action, 'created');
  assert.equal(created.resource.metadata.generation, 1);
  assert.equal((await store.apply(manifest(1))).action, 'unchanged');
  const changed = await store.apply(manifest(2));
  assert.equal(changed.action, 'configured');
  assert.equal(changed.resource.metadata.generation, 2);
  await store.patchStatus(key, (s) => ({ ...s, phase: 'Ready' }));
  assert.equal((await store.get(key))?.metadata.generation, 2);
  assert.equal((await store.get(key))?.status && (await store.get(key))?.status !== undefined, true);
});

test('concurrent status writers never lose an update', async () => {
  await Promise.all(Array.from({ length: 20 }, (_, i) => store.patchStatus(key, (s) => ({ ...s, [`w${i}`]: i }))));
  const status = (await store.get(key))?.status as Record<string, number>;
  for (let i = 0; i < 20; i++) assert.equal(status[`w${i}`], i);
});

test('delete waits for finalizers; removing the last one removes the object and is watched', async () => {
  const events: WatchEvent[] = [];
  const stop = await store.watch((e) => events.push(e));
  await store.addFinalizer(key, FINALIZER);
  assert.equal(await store.delete(key), 'deleting');
  assert.ok((await store.get(key))?.metadata.deletionTimestamp);
  await assert.rejects(store.apply(manifest(3)), /is being deleted/);
  await store.removeFinalizer(key, FINALIZER);
  assert.equal(await store.get(key), undefined);
  assert.deepEqual(await store.list('PostgresCluster'), []);
  await new Promise((r) => setTimeout(r, 100));
  assert.equal(events.at(-1)?.type, 'DELETED');
  await stop();
});

test('create: an owned object is admitted like a manifest and carries its owner; a retry is "exists"; a stranger is refused', async () => {
  const owner = { apiVersion: 'postgres.keiailab.io/v1alpha1', kind: 'ScheduledBackup', name: 'nightly', uid: 'u-1', controller: true };
  const job = { apiVersion: 'postgres.keiailab.io/v1alpha1', kind: 'BackupJob', metadata: { name: 'nightly-20260101000000', namespace: 'default' }, spec: { cluster: { name: 'db' } } };
  assert.equal(await store.create(job, owner), 'created');
  const stored = await store.get({ kind: 'BackupJob', namespace: 'default', name: 'nightly-20260101000000' });
  assert.deepEqual(stored?.metadata.ownerReferences, [owner]);
  assert.equal((stored?.spec as { backupType?: string }).backupType, 'full', 'defaults applied by admission');
  assert.equal(await store.create(job, owner), 'exists');
  await assert.rejects(store.create(job, { ...owner, uid: 'u-2' }), /already exists and is not owned by ScheduledBackup nightly/);
  await assert.rejects(store.create({ ...job, metadata: { name: 'Bad_Name' } }, owner), /metadata\.name/);
  await store.remove({ kind: 'BackupJob', namespace: 'default', name: 'nightly-20260101000000' });
  await store.remove({ kind: 'BackupJob', namespace: 'default', name: 'nightly-20260101000000' });
  assert.deepEqual(await store.list('BackupJob'), []);
});
