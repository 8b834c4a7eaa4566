// Kinds that are served but have no controller yet are accepted and say so in their status
// (Ready=False, reason=NotImplemented), on the local platform's store, instead of leaving the user guessing.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { LocalCluster, stateDir, sample } from '../helpers/cli.js';
import { eventually } from '../helpers/sql.js';
import { registrations, servedKinds } from '../../bin/kinds.js';

const cluster = new LocalCluster(stateDir('pgop-notimpl-'));
after(() => cluster.down());

const samples: Record<string, string> = {
  BackupJob: 'backupjob.yaml', ScheduledBackup: 'scheduledbackup.yaml', PostgresDatabase: 'postgresdatabase.yaml',
  PostgresUser: 'postgresuser.yaml', Pooler: 'pooler.yaml', ImageCatalog: 'imagecatalog.yaml',
  ClusterImageCatalog: 'clusterimagecatalog.yaml', ShardRange: 'shardrange.yaml', ShardSplitJob: 'shardsplitjob.yaml',
};
const controlled = new Set(registrations.map((r) => r.binding.kind));
const waiting = servedKinds.filter((k) => !controlled.has(k));

interface Condition { type: string; status: string; reason: string; message: string; observedGeneration?: number }
interface Listed { kind: string; metadata: { name: string; generation?: number }; status?: { conditions?: Condition[] } }

test('every served kind without a controller gets Ready=False, reason=NotImplemented', async () => {
  assert.ok(waiting.length > 0, 'every kind has a controller: this test has nothing left to prove; delete it');
  for (const kind of waiting) assert.ok(samples[kind], `no sample listed for ${kind}`);
  await cluster.ok(['local', 'up', ...waiting.flatMap((k) => ['-f', sample(samples[k] as string)])]);
  for (const kind of waiting) {
    const list = await eventually(async () => JSON.parse(await cluster.ok(['local', 'get', kind, '-o', 'json'])) as { items: Listed[] },
      (v) => v.items.length > 0 && v.items.every((o) => o.status?.conditions?.some((c) => c.reason === 'NotImplemented')), 30_000);
    const obj = list.items[0];
    const ready = obj?.status?.conditions?.find((c) => c.type === 'Ready');
    assert.equal(ready?.status, 'False', kind);
    assert.equal(ready?.reason, 'NotImplemented', kind);
    assert.match(ready?.message ?? '', new RegExp(`no controller for ${kind}`));
    assert.equal(ready?.observedGeneration, obj?.metadata.generation ?? 1, kind);
  }
});

test('a kind with a registered binding is never marked NotImplemented', () => {
  for (const kind of ['PostgresCluster', 'ImageCatalog', 'ClusterImageCatalog']) {
    assert.ok(controlled.has(kind), kind);
    assert.ok(!waiting.includes(kind), kind);
  }
});
