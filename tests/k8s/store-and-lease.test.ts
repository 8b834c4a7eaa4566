// The Kubernetes store and leader election against the real apiserver.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { startControlPlane, kubectlBin, type ControlPlane } from './harness/control-plane.js';
import { loadKubeConfig } from '../../adapters/k8s/client.js';
import { K8sResourceStore } from '../../adapters/k8s/k8s-resource-store.js';
import { K8sLeaseElector } from '../../adapters/leader/k8s-lease-elector.js';
import { K8sPrimaryLease } from '../../adapters/lease/k8s-lease.js';
import { K8sTimelineHistories, KEEP_TIMELINES } from '../../adapters/lease/timeline-histories.js';
import { createLogger } from '../../adapters/logging/logger.js';
import type { WatchEvent } from '../../actors/ports/resource-store.js';
import { FINALIZER } from '../../actors/ports/resource-store.js';
import { repoRoot } from '../helpers/cli.js';
import { admit } from '../../crds/admission.js';

let cp: ControlPlane;
const quiet = createLogger('test', {}, { write: () => undefined } as never);
const kubectl = (args: string[]) => spawnSync(kubectlBin, ['--kubeconfig', cp.kubeconfig, ...args], { encoding: 'utf8' });
const key = { kind: 'PostgresCluster', namespace: 'default', name: 'demo' };

before(async () => {
  cp = await startControlPlane();
  assert.equal(kubectl(['apply', '--server-side', '-f', join(repoRoot, 'chart', 'crds')]).status, 0);
  assert.equal(kubectl(['wait', '--for=condition=Established', '--timeout=60s', 'crd', '--all']).status, 0);
}, { timeout: 60 * 60_000 });
after(async () => { await cp?.stop(); });

test('objects are read, watched, and their status written through one optimistic door', async () => {
  const store = new K8sResourceStore(loadKubeConfig(cp.kubeconfig), quiet);
  const events: WatchEvent[] = [];
  const stop = await store.watch((e) => events.push(e));
  assert.equal(kubectl(['apply', '-f', join(repoRoot, 'crds', 'samples', 'postgrescluster-ha.yaml')]).status, 0);
  const obj = await store.get(key);
  assert.equal((obj?.spec as { instances: number }).instances, 3);
  assert.deepEqual((await store.list('PostgresCluster')).map((r) => r.metadata.name), ['demo']);
  // Eight writers at once, each adding its own condition: every one must land (409s are retried on a fresh read).
  const condition = (i: number) => ({ type: `Writer${i}`, status: 'True', reason: 'Test', message: `writer ${i}`, lastTransitionTime: new Date().toISOString() });
  await Promise.all(Array.from({ length: 8 }, (_, i) => store.patchStatus(key, (s) => ({ ...s, conditions: [...((s.conditions as unknown[]) ?? []), condition(i)] }))));
  const conditions = ((await store.get(key))?.status as { conditions: { type: string }[] }).conditions.map((c) => c.type).sort();
  assert.deepEqual(conditions, Array.from({ length: 8 }, (_, i) => `Writer${i}`).sort(), 'concurrent status writes all land');
  await store.addFinalizer(key, FINALIZER);
  assert.deepEqual((await store.get(key))?.metadata.finalizers, [FINALIZER]);
  kubectl(['delete', 'pgc', 'demo', '--wait=false']);
  assert.ok((await store.get(key))?.metadata.deletionTimestamp, 'the finalizer holds the object');
  await store.removeFinalizer(key, FINALIZER);
  for (let i = 0; i < 50 && (await store.get(key)); i++) await new Promise((r) => setTimeout(r, 100));
  assert.equal(await store.get(key), undefined);
  for (let i = 0; i < 100 && !events.some((e) => e.type === 'DELETED'); i++) await new Promise((r) => setTimeout(r, 100));
  assert.ok(events.some((e) => (e.type === 'ADDED' || e.type === 'MODIFIED') && e.key.name === 'demo'), JSON.stringify(events));
  assert.ok(events.some((e) => e.type === 'DELETED' && e.key.name === 'demo'), JSON.stringify(events));
  await stop();
});

test('two electors on one Lease: exactly one leads, the other takes over after it stops renewing', async () => {
  const kc = loadKubeConfig(cp.kubeconfig);
  const a = new K8sLeaseElector(kc, 'op-a', 'default', 'pgop-operator', 2);
  const b = new K8sLeaseElector(kc, 'op-b', 'default', 'pgop-operator', 2);
  assert.equal(await a.tryAcquire(), true);
  assert.equal(await b.tryAcquire(), false);
  assert.equal(await b.current(), 'op-a');
  const stopA = a.hold(() => undefined);
  await new Promise((r) => setTimeout(r, 2500));
  assert.equal(await b.tryAcquire(), false, 'a renews, so b follows');
  stopA();
  const started = Date.now();
  const ac = new AbortController();
  await b.acquire(ac.signal);
  assert.ok(Date.now() - started < 6000, `took ${Date.now() - started} ms`);
  assert.equal(await a.current(), 'op-b');
  const lease = JSON.parse(kubectl(['get', 'lease', 'pgop-operator', '-o', 'json']).stdout) as { spec: { renewTime: string; leaseTransitions: number } };
  assert.match(lease.spec.renewTime, /\.\d{6}Z$/, 'MicroTime with six fractional digits');
  assert.equal(lease.spec.leaseTransitions, 1);
});

test('the primary lease on a Lease object: one holder, renewals, handover, expiry judged locally, records kept', async () => {
  const kc = loadKubeConfig(cp.kubeconfig);
  const cluster = { namespace: 'default', name: 'leased' };
  const operatorView = new K8sPrimaryLease(kc, cluster);
  const a = new K8sPrimaryLease(kc, cluster);
  const b = new K8sPrimaryLease(kc, cluster);
  const me = { holder: 'leased-1', host: '127.0.0.2', port: 5432 };
  assert.deepEqual(await a.acquire(me, 2000), { acquired: true, holder: me });
  assert.equal((await b.acquire({ holder: 'leased-2', host: '127.0.0.3', port: 5432 }, 2000)).acquired, false, 'nobody else while it is live');
  assert.equal(await a.renew('leased-1', 2000), true);
  assert.equal(await b.renew('leased-2', 2000), false);
  assert.equal((await operatorView.read()).holder?.holder, 'leased-1');
  // No renewals for longer than the duration: the observer sees it expire, then a plan can take it.
  await new Promise((r) => setTimeout(r, 2600));
  assert.equal((await operatorView.read()).holder, null);
  const plan = { holder: 'failover:default/leased', host: '', port: 0 };
  assert.equal((await operatorView.acquire(plan, 2000)).acquired, true);
  assert.equal(await operatorView.handover(plan.holder, { holder: 'leased-2', host: '127.0.0.3', port: 5432 }, 2000), true);
  assert.equal((await a.read()).holder?.holder, 'leased-2');
  await b.recordPrimary({ name: 'leased-2', host: '127.0.0.3', port: 5432, timeline: 2, since: '2026-01-01T00:00:00Z' });
  assert.equal((await a.readPrimary())?.timeline, 2);
});

test('timeline histories live in the cluster\'s own ConfigMap, pruned to the newest timelines', async () => {
  const kc = loadKubeConfig(cp.kubeconfig);
  const cluster = { namespace: 'default', name: 'historic' };
  const histories = new K8sTimelineHistories(kc, cluster);
  await assert.rejects(histories.all(), /ConfigMap default\/historic-timelines is missing; the operator creates it/);
  assert.equal(kubectl(['create', 'configmap', 'historic-timelines']).status, 0);
  for (let tl = 2; tl <= KEEP_TIMELINES + 5; tl++) await histories.record(tl, `${tl - 1}\t0/${tl}000000\tno recovery target specified\n`);
  const kept = Object.keys(await histories.all()).map(Number).sort((x, y) => x - y);
  assert.equal(kept.length, KEEP_TIMELINES);
  assert.deepEqual([kept[0], kept.at(-1)], [6, KEEP_TIMELINES + 5]);
  const lease = JSON.parse(kubectl(['get', 'configmap', 'historic-timelines', '-o', 'json']).stdout) as { data: Record<string, string> };
  assert.equal(Object.keys(lease.data).length, KEEP_TIMELINES);
});

test('a store limited to one namespace lists and watches only that namespace', async () => {
  assert.equal(kubectl(['apply', '-f', join(repoRoot, 'crds', 'samples', 'postgrescluster-ha.yaml')]).status, 0);
  assert.equal(kubectl(['create', 'namespace', 'elsewhere']).status, 0);
  const store = new K8sResourceStore(loadKubeConfig(cp.kubeconfig), quiet, undefined, 'elsewhere');
  assert.deepEqual(await store.list('PostgresCluster'), [], 'the cluster in default is not seen');
  const seen: WatchEvent[] = [];
  const stop = await store.watch((e) => seen.push(e));
  assert.equal(kubectl(['apply', '-n', 'elsewhere', '-f', join(repoRoot, 'crds', 'samples', 'postgrescluster-ha.yaml')]).status, 0);
  assert.deepEqual((await store.list('PostgresCluster')).map((r) => `${r.metadata.namespace}/${r.metadata.name}`), ['elsewhere/demo']);
  for (let i = 0; i < 50 && !seen.some((e) => e.key.namespace === 'elsewhere'); i++) await new Promise((r) => setTimeout(r, 100));
  await stop();
  assert.ok(seen.length > 0 && seen.every((e) => e.key.namespace === 'elsewhere'), JSON.stringify(seen.map((e) => e.key)));
});

test('objects the operator owns: created with a controller owner reference, unchanged on repeat, updated, deleted', async () => {
  const store = new K8sResourceStore(loadKubeConfig(cp.kubeconfig), quiet);
  assert.equal(kubectl(['apply', '-f', join(repoRoot, 'crds', 'samples', 'postgrescluster-sharded.yaml')]).status, 0);
  const parent = await store.get({ kind: 'PostgresCluster', namespace: 'default', name: 'shop' });
  assert.ok(parent?.metadata.uid);
  const owner = { apiVersion: 'postgres.keiailab.io/v1alpha1', kind: 'PostgresCluster', name: 'shop', uid: parent.metadata.uid };
  const child = admit({ apiVersion: 'postgres.keiailab.io/v1alpha1', kind: 'PostgresCluster', metadata: { name: 'shop-min-80', namespace: 'default', labels: { 'postgres.keiailab.io/shard': 'min-80' } }, spec: { instances: 2 } });
  const withNs = { ...child, metadata: { ...child.metadata, namespace: 'default' } };
  assert.equal(await store.applyOwned(withNs, owner), 'created');
  const created = await store.get({ kind: 'PostgresCluster', namespace: 'default', name: 'shop-min-80' });
  assert.deepEqual(created?.metadata.ownerReferences?.map((o) => [o.kind, o.name, o.uid, o.controller]), [['PostgresCluster', 'shop', parent.metadata.uid, true]]);
  assert.equal(created?.metadata.labels?.['postgres.keiailab.io/shard'], 'min-80');
  assert.equal(await store.applyOwned(withNs, owner), 'unchanged', 'the apiserver\'s defaults equal the admitted spec');
  assert.equal(await store.applyOwned({ ...withNs, spec: { ...(withNs.spec as object), instances: 3 } }, owner), 'configured');
  assert.equal(((await store.get({ kind: 'PostgresCluster', namespace: 'default', name: 'shop-min-80' }))?.spec as { instances: number }).instances, 3);
  await store.deleteOwned({ kind: 'PostgresCluster', namespace: 'default', name: 'shop-min-80' });
  await store.deleteOwned({ kind: 'PostgresCluster', namespace: 'default', name: 'shop-min-80' });
  for (let i = 0; i < 50 && (await store.get({ kind: 'PostgresCluster', namespace: 'default', name: 'shop-min-80' })); i++) await new Promise((r) => setTimeout(r, 100));
  assert.equal(await store.get({ kind: 'PostgresCluster', namespace: 'default', name: 'shop-min-80' }), undefined);
});

test('resyncs restart the watches without an error loop, and the watches still deliver afterwards', async () => {
  // Every restart used to abort the watch of the restart before it (an abort reads as an error): after the first
  // resync each kind relisted every 2 s for good. Resync every 1.5 s here and count the restarts taken for errors.
  const lines: string[] = [];
  const log = createLogger('test', {}, { write: (l: string) => { lines.push(l); } } as never);
  const store = new K8sResourceStore(loadKubeConfig(cp.kubeconfig), log, 1500, 'resync');
  assert.equal(kubectl(['create', 'namespace', 'resync']).status, 0);
  const seen: WatchEvent[] = [];
  const stop = await store.watch((e) => seen.push(e));
  await new Promise((r) => setTimeout(r, 9000));
  const restarts = lines.filter((l) => l.includes('informer stopped; restarting'));
  assert.deepEqual(restarts, [], 'no informer restarted for an error of its own making');
  assert.equal(kubectl(['apply', '-n', 'resync', '-f', join(repoRoot, 'crds', 'samples', 'postgrescluster-ha.yaml')]).status, 0);
  for (let i = 0; i < 100 && !seen.some((e) => e.key.namespace === 'resync'); i++) await new Promise((r) => setTimeout(r, 100));
  await stop();
  assert.ok(seen.some((e) => e.key.namespace === 'resync' && e.key.name === 'demo'), 'the watch delivers after several resyncs');
});
