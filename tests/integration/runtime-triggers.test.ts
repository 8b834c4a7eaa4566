// Triggers (a binding's `watches`) on the real local store: a change to a cluster maps to the objects of another
// kind that name it, in its namespace only — what a PostgresUser or PostgresDatabase controller is re-triggered by.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { RedisResourceStore } from '../../adapters/local/redis-store.js';
import { StateDir } from '../../adapters/local/state-dir.js';
import { startRedis, stopRedis } from '../../adapters/local/redis-server.js';
import { connectRedis } from '../../adapters/redis/connection.js';
import { referencedBy } from '../../actors/binding.js';
import type { Resource } from '../../crds/definition.js';
import { stateDir } from '../helpers/cli.js';

let store: RedisResourceStore;
let pid: number;

before(async () => {
  const r = await startRedis(new StateDir(stateDir('pgop-triggers-')));
  pid = r.pid;
  store = new RedisResourceStore(connectRedis(r.url));
});
after(async () => { await store.close(); await stopRedis(pid); });

const user = (name: string, namespace: string, cluster: string) => ({
  apiVersion: 'postgres.keiailab.io/v1alpha1', kind: 'PostgresUser', metadata: { name, namespace },
  spec: { cluster: { name: cluster }, name: name.replace(/-/g, '_'), login: true },
});

test('referencedBy maps a changed cluster to the users that name it, in its namespace only', async () => {
  await store.apply(user('reporting', 'default', 'demo'));
  await store.apply(user('etl', 'default', 'demo'));
  await store.apply(user('other', 'default', 'elsewhere'));
  await store.apply(user('same-name-other-ns', 'team-b', 'demo'));
  const trigger = referencedBy('PostgresCluster', 'PostgresUser', (r: Resource) => (r.spec as { cluster?: { name?: string } }).cluster?.name);
  assert.equal(trigger.kind, 'PostgresCluster');
  const keys = await trigger.enqueue({ kind: 'PostgresCluster', namespace: 'default', name: 'demo' }, store);
  assert.deepEqual(keys.map((k) => `${k.kind}/${k.namespace}/${k.name}`).sort(), ['PostgresUser/default/etl', 'PostgresUser/default/reporting']);
  assert.deepEqual(await trigger.enqueue({ kind: 'PostgresCluster', namespace: 'default', name: 'absent' }, store), []);
});
