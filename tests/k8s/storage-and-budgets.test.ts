// Volume growth and disruption budgets on a real kube-apiserver. The test plays the parts no controller plays here:
// it binds the instance's PVC (the volume provisioner) and reports the grown capacity (the CSI resizer). The
// apiserver's own PersistentVolumeClaimResize admission refuses growth unless the StorageClass allows it, so the
// operator must check first and say so in a condition.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { CoreV1Api, PolicyV1Api, StorageV1Api, PatchStrategy, setHeaderOptions } from '@kubernetes/client-node';
import { startK8sEnv, type K8sEnv, type CustomObject } from './harness/k8s-env.js';
import { eventually } from '../helpers/sql.js';

const ns = 'default';
const API = 'postgres.keiailab.io/v1alpha1';
const mergePatch = setHeaderOptions('Content-Type', PatchStrategy.MergePatch);
let env: K8sEnv;

before(async () => { env = await startK8sEnv('storage'); }, { timeout: 60 * 60_000 });
after(async () => { await env?.stop(); });

const cluster = (size: string, instances = 1) => ({ apiVersion: API, kind: 'PostgresCluster', metadata: { name: 'vols' }, spec: { instances, storage: { size, storageClass: 'growable' } } });
const pvc = () => env.kc.makeApiClient(CoreV1Api).readNamespacedPersistentVolumeClaim({ namespace: ns, name: 'vols-1-data' });
const condition = (c: CustomObject | undefined, type: string) => (c?.status?.conditions as { type: string; status: string; reason: string; message: string }[] | undefined)?.find((x) => x.type === type);
const budget = (name: string) => env.kc.makeApiClient(PolicyV1Api).readNamespacedPodDisruptionBudget({ namespace: ns, name }).then((b) => b, () => undefined);
const withLog = <T>(p: Promise<T>) => p.catch((e: unknown) => { throw new Error(`${(e as Error).message}\n${env.operatorLog()}`); });

test('raising storage.size: refused with a condition while the StorageClass cannot expand, then the PVC grows and status follows', async () => {
  await env.kc.makeApiClient(StorageV1Api).createStorageClass({ body: { metadata: { name: 'growable' }, provisioner: 'example.com/none', allowVolumeExpansion: false } });
  await env.apply(cluster('1Gi'));
  await withLog(eventually(() => env.custom('postgresclusters', 'vols'), (c) => c?.status?.phase === 'Ready', 300_000));
  // The volume provisioner's part: the claim is bound with the size asked for.
  await env.kc.makeApiClient(CoreV1Api).patchNamespacedPersistentVolumeClaimStatus({ namespace: ns, name: 'vols-1-data', body: { status: { phase: 'Bound', capacity: { storage: '1Gi' } } } }, mergePatch);

  await env.apply(cluster('2Gi'));
  const refused = await withLog(eventually(() => env.custom('postgresclusters', 'vols'), (c) => condition(c, 'StorageResize')?.reason === 'ExpansionNotSupported', 120_000));
  assert.equal(condition(refused, 'StorageResize')?.status, 'False');
  assert.match(condition(refused, 'StorageResize')?.message ?? '', /StorageClass growable does not allow volume expansion/);
  assert.equal((await pvc()).spec?.resources?.requests?.storage, '1Gi', 'the claim is left alone');
  // The machine's own conditions stay beside it.
  assert.ok(condition(refused, 'Ready'), 'the Ready condition is still there');

  await env.kc.makeApiClient(StorageV1Api).patchStorageClass({ name: 'growable', body: { allowVolumeExpansion: true } }, mergePatch);
  await withLog(eventually(pvc, (p) => p.spec?.resources?.requests?.storage === '2Gi', 120_000));
  const resizing = await eventually(() => env.custom('postgresclusters', 'vols'), (c) => condition(c, 'StorageResize')?.reason === 'Resizing', 60_000);
  assert.deepEqual({ ...(resizing?.status?.storage as object), message: undefined }, { size: '2Gi', volumes: 1, resized: 0, message: undefined });

  // The resizer's part: the volume has grown.
  await env.kc.makeApiClient(CoreV1Api).patchNamespacedPersistentVolumeClaimStatus({ namespace: ns, name: 'vols-1-data', body: { status: { capacity: { storage: '2Gi' } } } }, mergePatch);
  const grown = await eventually(() => env.custom('postgresclusters', 'vols'), (c) => condition(c, 'StorageResize')?.status === 'True', 60_000);
  assert.equal(condition(grown, 'StorageResize')?.reason, 'Resized');
  assert.deepEqual(grown?.status?.storage, { size: '2Gi', volumes: 1, resized: 1 });
});

test('shrinking storage.size is refused by the apiserver (CEL on the quantity)', async () => {
  const file = `${env.work}/shrink.yaml`;
  const { writeFileSync } = await import('node:fs');
  const { stringify } = await import('yaml');
  writeFileSync(file, stringify(cluster('1Gi')));
  const r = await env.kubectl(['apply', '-f', file]);
  assert.notEqual(r.status, 0);
  assert.match(r.stderr, /spec\.storage\.size: Forbidden: cannot shrink/);
  // A same-size or larger value in another unit passes the same rule.
  writeFileSync(file, stringify(cluster('2048Mi')));
  assert.equal((await env.kubectl(['apply', '-f', file, '--dry-run=server'])).status, 0);
});

test('the replica disruption budget follows scaling: 1 → 2 creates it, 2 → 1 removes it', async () => {
  assert.ok(await budget('vols-primary'), 'the primary is always protected');
  assert.equal(await budget('vols'), undefined, 'one instance: no replica budget');
  await env.apply(cluster('2Gi', 2));
  await withLog(eventually(() => env.custom('postgresclusters', 'vols'), (c) => c?.status?.phase === 'Ready' && c.status.readyInstances === 2, 300_000));
  const created = await withLog(eventually(() => budget('vols'), (b) => b !== undefined, 120_000));
  assert.equal(created?.spec?.maxUnavailable, 1);
  assert.deepEqual(created?.spec?.selector?.matchLabels, { 'postgres.keiailab.io/cluster': 'vols', 'postgres.keiailab.io/role': 'replica' });
  await env.apply(cluster('2Gi', 1));
  await withLog(eventually(() => budget('vols'), (b) => b === undefined, 120_000));
  assert.ok(await budget('vols-primary'));
});
