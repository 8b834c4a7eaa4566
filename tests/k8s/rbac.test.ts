// The chart's RBAC on a real apiserver: what the operator's and the agents' ServiceAccounts may do, asked with
// `kubectl auth can-i --as`, and the operator's real provisioning code run under the operator's own token, so the
// apiserver's escalation checks (no `bind`, no `escalate`) are what lets it grant the agents their Role.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import { CoreV1Api, type KubeConfig, KubernetesObjectApi, PatchStrategy, RbacAuthorizationV1Api, setHeaderOptions, type KubernetesObject } from '@kubernetes/client-node';
import { startControlPlane, kubectlBin, type ControlPlane } from './harness/control-plane.js';
import { helmBin, renderChart } from './harness/helm.js';
import { applyChartRbac, serviceAccountKubeConfig } from './harness/chart-identity.js';
import { loadKubeConfig, httpStatus } from '../../adapters/k8s/client.js';
import { K8sPlatform } from '../../adapters/k8s/k8s-platform.js';
import { K8sPoolers } from '../../adapters/k8s/k8s-poolers.js';
import { K8sRouters } from '../../adapters/k8s/k8s-routers.js';
import { K8sResourceStore } from '../../adapters/k8s/k8s-resource-store.js';
import { shardingFromShardRanges } from '../../router/shard-map-source.js';
import { DEFAULT_TLS_POLICY } from '../../adapters/certs/tls-policy.js';
import { createLogger } from '../../adapters/logging/logger.js';
import { createCa, inspectCert } from '../../adapters/certs/x509.js';
import type { PoolerSpec } from '../../crds/pooler.js';
import { operatorPeer } from '../../adapters/k8s/specs/operator-peer.js';
import { LABEL } from '../../adapters/k8s/specs/labels.js';
import type { PostgresClusterSpec } from '../../crds/postgrescluster.js';
import { repoRoot, sample } from '../helpers/cli.js';

const RELEASE_NS = 'pgop-system';
const WATCHED = 'apps';
const OTHER = 'other';
const operatorSA = `system:serviceaccount:${RELEASE_NS}:pgop`;
const agentSA = `system:serviceaccount:${WATCHED}:demo-instance`;

let cp: ControlPlane;
let helm = '';
let admin: KubeConfig;

const kubectl = (args: string[]) => spawnSync(kubectlBin, ['--kubeconfig', cp.kubeconfig, ...args], { encoding: 'utf8', timeout: 60_000 });

/**
 * `kubectl auth can-i` as a ServiceAccount, with the groups the apiserver gives its tokens. `resource/name` names an
 * object; `resource#sub` a subresource (kubectl would read `pods/exec` as the Pod named exec).
 */
function can(user: string, verb: string, resource: string, namespace?: string): boolean {
  const sa = user.split(':');
  const [res = '', sub] = resource.split('#');
  const r = kubectl(['auth', 'can-i', verb, res, ...(sub ? [`--subresource=${sub}`] : []), ...(namespace ? ['-n', namespace] : ['--all-namespaces']),
    `--as=${user}`, '--as-group=system:serviceaccounts', `--as-group=system:serviceaccounts:${sa[2] ?? ''}`, '--as-group=system:authenticated']);
  assert.ok(r.status === 0 || r.status === 1, `kubectl auth can-i ${verb} ${resource}: ${r.stderr}`);
  return r.stdout.trim() === 'yes';
}

function expectCan(user: string, rows: [verb: string, resource: string, namespace: string | undefined, allowed: boolean][]): void {
  const wrong = rows.filter(([verb, resource, ns, allowed]) => can(user, verb, resource, ns) !== allowed)
    .map(([verb, resource, ns, allowed]) => `${allowed ? 'refused' : 'ALLOWED'}: ${verb} ${resource} in ${ns ?? 'all namespaces'}`);
  assert.deepEqual(wrong, [], `${user}:\n${wrong.join('\n')}`);
}

const sampleSpec = () => (parse(readFileSync(sample('postgrescluster-ha.yaml'), 'utf8')) as { spec: PostgresClusterSpec }).spec;
const forbidden = (e: unknown) => httpStatus(e) === 403;

before(async () => {
  helm = helmBin();
  cp = await startControlPlane();
  admin = loadKubeConfig(cp.kubeconfig);
  for (const ns of [RELEASE_NS, WATCHED, OTHER]) assert.equal(kubectl(['create', 'namespace', ns]).status, 0);
  assert.equal(kubectl(['apply', '--server-side', '-f', join(repoRoot, 'chart', 'crds')]).status, 0);
  assert.equal(kubectl(['wait', '--for=condition=Established', '--timeout=60s', 'crd', '--all']).status, 0);
  await applyChartRbac(cp.kubeconfig, renderChart(helm, 'pgop', RELEASE_NS, ['--set', `watchNamespace=${WATCHED}`]).objects, cp.dir);
  for (const ns of [WATCHED, OTHER]) {
    const r = kubectl(['apply', '-n', ns, '-f', sample('postgrescluster-ha.yaml')]);
    assert.equal(r.status, 0, r.stderr);
  }
}, { timeout: 60 * 60_000 });
after(async () => { await cp?.stop(); });

test('no rendered rule grants bind, escalate, impersonate, wildcards, ClusterRole writes or Secret list/watch', () => {
  for (const args of [[], ['--set', `watchNamespace=${WATCHED}`]]) {
    const rules = renderChart(helm, 'pgop', RELEASE_NS, args).objects.filter((o) => o.kind === 'Role' || o.kind === 'ClusterRole')
      .flatMap((o) => (o.rules as { resources: string[]; verbs: string[] }[]).map((r) => ({ ...r, of: `${o.kind}/${o.metadata.name}` })));
    assert.ok(rules.length > 0);
    for (const r of rules) {
      const where = `${r.of}: ${r.verbs.join(',')} on ${r.resources.join(',')}`;
      assert.ok(!r.verbs.some((v) => ['bind', 'escalate', 'impersonate', '*'].includes(v)) && !r.resources.includes('*'), where);
      assert.ok(!r.resources.some((x) => x.startsWith('clusterrole')), where);
      if (r.resources.includes('secrets')) assert.ok(!r.verbs.includes('list') && !r.verbs.includes('watch'), where);
    }
  }
});

test('with watchNamespace set, the operator may manage clusters in that namespace only, and never grant beyond itself', () => {
  expectCan(operatorSA, [
    // What provisioning, failover and deletion do in the watched namespace.
    ['create', 'secrets', WATCHED, true], ['get', 'secrets', WATCHED, true], ['delete', 'secrets', WATCHED, true],
    ['create', 'pods', WATCHED, true], ['patch', 'pods', WATCHED, true], ['delete', 'pods', WATCHED, true], ['list', 'pods', WATCHED, true],
    ['create', 'persistentvolumeclaims', WATCHED, true], ['patch', 'services', WATCHED, true], ['patch', 'configmaps', WATCHED, true],
    ['create', 'roles', WATCHED, true], ['create', 'rolebindings', WATCHED, true], ['create', 'serviceaccounts', WATCHED, true],
    ['update', 'leases', WATCHED, true], ['create', 'poddisruptionbudgets.policy', WATCHED, true], ['create', 'networkpolicies.networking.k8s.io', WATCHED, true],
    ['watch', 'postgresclusters.postgres.keiailab.io', WATCHED, true], ['create', 'events', WATCHED, true],
    // Poolers (a Deployment each), volume growth (PVC patch, the StorageClass's allowVolumeExpansion).
    ['create', 'deployments.apps', WATCHED, true], ['patch', 'deployments.apps', WATCHED, true], ['patch', 'persistentvolumeclaims', WATCHED, true],
    ['get', 'storageclasses.storage.k8s.io', undefined, true], ['create', 'storageclasses.storage.k8s.io', undefined, false], ['create', 'deployments.apps', OTHER, false],
    // Refused even there.
    ['list', 'secrets', WATCHED, false], ['watch', 'secrets', WATCHED, false],
    ['bind', 'roles', WATCHED, false], ['escalate', 'roles', WATCHED, false], ['bind', 'clusterroles', WATCHED, false],
    ['impersonate', 'serviceaccounts', WATCHED, false], ['create', 'pods#exec', WATCHED, false], ['create', 'serviceaccounts#token', WATCHED, false], ['update', 'postgresclusters.postgres.keiailab.io#status', WATCHED, true],
    // Other namespaces, its own included: nothing of a cluster's objects.
    ['create', 'secrets', OTHER, false], ['get', 'secrets', OTHER, false], ['patch', 'secrets', OTHER, false], ['create', 'pods', OTHER, false],
    ['create', 'roles', OTHER, false], ['create', 'rolebindings', OTHER, false], ['get', 'postgresclusters.postgres.keiailab.io', OTHER, false],
    ['get', 'secrets', RELEASE_NS, false], ['get', 'secrets', 'kube-system', false],
    // Cluster-wide: no RBAC writes, no Secrets, no watch beyond its namespace except cluster-scoped catalogs.
    ['create', 'clusterroles', undefined, false], ['create', 'clusterrolebindings', undefined, false], ['escalate', 'clusterroles', undefined, false],
    ['list', 'secrets', undefined, false], ['list', 'postgresclusters.postgres.keiailab.io', undefined, false], ['create', 'namespaces', undefined, false],
    ['list', 'clusterimagecatalogs.postgres.keiailab.io', undefined, true],
    // Leader election: its own Lease by name in its own namespace.
    ['update', 'leases/pgop-operator', RELEASE_NS, true], ['create', 'leases', RELEASE_NS, true], ['update', 'leases/someone-else', RELEASE_NS, false],
  ]);
});

test('under its own token the operator provisions a cluster, grants the agents their Role (no bind/escalate) and labels roles', async () => {
  const operator = await serviceAccountKubeConfig(admin, RELEASE_NS, 'pgop');
  const platform = new K8sPlatform(operator, operatorPeer(RELEASE_NS));
  const cluster = { namespace: WATCHED, name: 'demo' };
  const owner = { uid: 'rbac-test', generation: 1 };
  await platform.provisionCluster(cluster, sampleSpec());
  await platform.createInstance({ cluster, owner, instance: 'demo-1', serial: 1, bootstrap: 'initdb', primary: null }, sampleSpec());
  await platform.createInstance({ cluster, owner, instance: 'demo-2', serial: 2, bootstrap: 'clone', primary: 'demo-1' }, sampleSpec());
  await platform.reroute(cluster, 'demo-2');
  const core = admin.makeApiClient(CoreV1Api);
  const labels = async (pod: string) => (await core.readNamespacedPod({ namespace: WATCHED, name: pod })).metadata?.labels?.[LABEL.role];
  assert.deepEqual([await labels('demo-1'), await labels('demo-2')], ['replica', 'primary']);
  assert.ok((await platform.password(cluster, 'superuser')).length > 0);
  assert.ok((await platform.lease(cluster).acquire({ holder: 'demo-2', host: '', port: 0 }, 5000)).acquired, 'the Lease the operator created is usable');
  const role = await admin.makeApiClient(RbacAuthorizationV1Api).readNamespacedRole({ namespace: WATCHED, name: 'demo-instance' });
  assert.ok(role.rules?.length);

  // The apiserver's escalation check is what holds: a Role above the operator's own rights, or a binding to one, is refused.
  const objects = KubernetesObjectApi.makeApiClient(operator);
  const create = (o: KubernetesObject) => objects.create(o);
  const tooMuch = { apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'Role', metadata: { name: 'too-much', namespace: WATCHED }, rules: [{ apiGroups: [''], resources: ['secrets'], verbs: ['list'] }] };
  await assert.rejects(create(tooMuch), forbidden, 'a Role granting Secret list');
  // (cluster-admin, not admin: without a controller-manager the aggregated admin role has no rules yet.)
  const bindAdmin = {
    apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'RoleBinding', metadata: { name: 'bind-admin', namespace: WATCHED },
    roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'cluster-admin' }, subjects: [{ kind: 'ServiceAccount', name: 'demo-instance', namespace: WATCHED }],
  };
  await assert.rejects(create(bindAdmin), forbidden, 'a RoleBinding to the cluster-admin ClusterRole');

  // Outside the watched namespace it can do nothing of the kind.
  await assert.rejects(platform.provisionCluster({ namespace: OTHER, name: 'demo' }, sampleSpec()), forbidden);
});

test('under its own token the operator applies a Pooler: Deployment, Service, NetworkPolicy and the pods\' read-only Role', async () => {
  const operator = await serviceAccountKubeConfig(admin, RELEASE_NS, 'pgop');
  const spec = { cluster: { name: 'demo' }, type: 'rw', instances: 2, paused: false, pgbouncer: { poolMode: 'transaction', defaultPoolSize: 20, maxClientConnections: 100 } } as PoolerSpec;
  await KubernetesObjectApi.makeApiClient(admin).create({ apiVersion: 'postgres.keiailab.io/v1alpha1', kind: 'Pooler', metadata: { name: 'demo-pooler', namespace: WATCHED }, spec } as KubernetesObject);
  const poolers = new K8sPoolers(operator, 'img:test', createLogger('test'));
  const applied = await poolers.apply({ namespace: WATCHED, name: 'demo-pooler', spec, generation: 1 }, { route: null, primary: null });
  assert.equal(applied.endpoint, `demo-pooler.${WATCHED}.svc:5432`);
  const pods = `system:serviceaccount:${WATCHED}:demo-pooler-pooler`;
  expectCan(pods, [
    ['get', 'configmaps/demo-pooler-pgbouncer', WATCHED, true], ['get', 'secrets/demo-pooler-auth', WATCHED, true], ['get', 'secrets/demo-ca', WATCHED, true],
    ['get', 'secrets/demo-server', WATCHED, true],
    ['get', 'secrets/demo-superuser', WATCHED, false], ['list', 'secrets', WATCHED, false], ['get', 'configmaps/demo-pgop', WATCHED, false],
    ['update', 'configmaps/demo-pooler-pgbouncer', WATCHED, false], ['create', 'pods', WATCHED, false], ['get', 'pods', WATCHED, false],
  ]);
  // A read-only pooler goes to the cluster's -ro Service (which spreads over the ready replicas).
  const ro = await poolers.apply({ namespace: WATCHED, name: 'demo-pooler', spec: { ...spec, type: 'ro' }, generation: 2 }, { route: { kind: 'readOnly' }, primary: null });
  assert.equal(ro.target, 'demo-ro');
  const cm = await admin.makeApiClient(CoreV1Api).readNamespacedConfigMap({ namespace: WATCHED, name: 'demo-pooler-pgbouncer' });
  const config = JSON.parse(cm.data?.['pooler.json'] ?? '{}') as { server: { host: string; port: number } | null; tls: { caSecret: string } | null };
  assert.deepEqual({ host: config.server?.host, port: config.server?.port, ca: config.tls?.caSecret }, { host: `demo-ro.${WATCHED}.svc`, port: 5432, ca: 'demo-ca' });
  await poolers.remove({ namespace: WATCHED, name: 'demo-pooler' });
  const left = kubectl(['get', 'deployments,services,roles,rolebindings,serviceaccounts,networkpolicies,configmaps', '-n', WATCHED, '-l', 'postgres.keiailab.io/pooler=demo-pooler', '-o', 'name']);
  assert.equal(left.stdout.trim(), '', 'the pooler\'s objects are gone');
});

test('an agent reads its cluster, its Secrets by name and the Pods, holds its own Lease, and writes nothing else', async () => {
  expectCan(agentSA, [
    ['get', 'postgresclusters.postgres.keiailab.io/demo', WATCHED, true], ['get', 'secrets/demo-superuser', WATCHED, true], ['get', 'secrets/demo-replication', WATCHED, true],
    ['get', 'configmaps/demo-pgop', WATCHED, true], ['get', 'pods', WATCHED, true], ['list', 'pods', WATCHED, true],
    ['get', 'leases/demo-primary', WATCHED, true], ['update', 'leases/demo-primary', WATCHED, true],
    // No Pod writes: role labels are the operator's.
    ['patch', 'pods', WATCHED, false], ['update', 'pods', WATCHED, false], ['patch', 'pods/demo-1', WATCHED, false], ['delete', 'pods', WATCHED, false], ['create', 'pods', WATCHED, false],
    ['list', 'secrets', WATCHED, false], ['get', 'secrets', WATCHED, false], ['get', 'secrets/other-superuser', WATCHED, false],
    ['create', 'leases', WATCHED, false], ['update', 'leases/other-primary', WATCHED, false], ['delete', 'leases/demo-primary', WATCHED, false],
    ['get', 'configmaps/other-pgop', WATCHED, false], ['get', 'postgresclusters.postgres.keiailab.io/other', WATCHED, false],
    ['patch', 'postgresclusters.postgres.keiailab.io/demo', WATCHED, false], ['update', 'postgresclusters.postgres.keiailab.io#status', WATCHED, false], ['create', 'pods#exec', WATCHED, false],
    ['create', 'roles', WATCHED, false], ['patch', 'services', WATCHED, false], ['get', 'pods', OTHER, false], ['get', 'secrets', OTHER, false],
  ]);
  // And with its real token: labelling its own Pod primary is refused by the apiserver.
  const agent = await serviceAccountKubeConfig(admin, WATCHED, 'demo-instance');
  await assert.rejects(agent.makeApiClient(CoreV1Api).patchNamespacedPod({ namespace: WATCHED, name: 'demo-1', body: { metadata: { labels: { [LABEL.role]: 'primary' } } } },
    setHeaderOptions('Content-Type', PatchStrategy.MergePatch)), forbidden);
});

test('the operator deprovisions under its own token', async () => {
  const platform = new K8sPlatform(await serviceAccountKubeConfig(admin, RELEASE_NS, 'pgop'), operatorPeer(RELEASE_NS));
  await platform.deprovisionCluster({ namespace: WATCHED, name: 'demo' }, sampleSpec(), new AbortController().signal);
  const left = kubectl(['get', 'pods,pvc,secrets,services,roles,rolebindings,leases,networkpolicies,pdb', '-n', WATCHED, '-l', `${LABEL.cluster}=demo`, '-o', 'name']);
  assert.equal(left.status, 0, left.stderr);
  assert.equal(left.stdout.trim(), '');
});

test('without watchNamespace: one ClusterRole, still no bind/escalate, no Secret list, no ClusterRole writes', async () => {
  assert.equal(kubectl(['create', 'namespace', 'cw-system']).status, 0);
  await applyChartRbac(cp.kubeconfig, renderChart(helm, 'everywhere', 'cw-system', []).objects, cp.dir);
  const sa = 'system:serviceaccount:cw-system:everywhere';
  expectCan(sa, [
    ['create', 'secrets', OTHER, true], ['create', 'roles', OTHER, true], ['patch', 'pods', OTHER, true], ['list', 'postgresclusters.postgres.keiailab.io', undefined, true],
    ['list', 'secrets', undefined, false], ['list', 'secrets', OTHER, false], ['bind', 'roles', OTHER, false], ['escalate', 'roles', OTHER, false],
    ['bind', 'clusterroles', undefined, false], ['escalate', 'clusterroles', undefined, false], ['create', 'clusterroles', undefined, false],
    ['create', 'clusterrolebindings', undefined, false], ['impersonate', 'users', undefined, false], ['create', 'pods#exec', OTHER, false],
    ['update', 'leases/pgop-operator', 'cw-system', true],
  ]);
});

test('under its own token the operator runs a sharded cluster\'s router: Deployment, Service, certificate and the pods\' read-only Role', async () => {
  const operator = await serviceAccountKubeConfig(admin, RELEASE_NS, 'pgop');
  const objects = KubernetesObjectApi.makeApiClient(admin);
  const API = 'postgres.keiailab.io/v1alpha1';
  const status = (resource: string, name: string, body: object) => {
    const r = kubectl(['patch', resource, name, '-n', WATCHED, '--subresource=status', '--type=merge', '-p', JSON.stringify({ status: body })]);
    assert.equal(r.status, 0, r.stderr);
  };
  await objects.create({ apiVersion: API, kind: 'PostgresCluster', metadata: { name: 'shop', namespace: WATCHED },
    spec: { instances: 1, sharding: { shards: 2, tableGroups: [{ name: 'orders', vindex: { type: 'hash', column: 'customer_id' }, tables: ['orders'] }] } } } as KubernetesObject);
  const ca = await createCa('test CA', new Date(), 86_400_000);
  for (const [i, shard] of ['shop-min-80', 'shop-80-max'].entries()) {
    await objects.create({ apiVersion: API, kind: 'PostgresCluster', metadata: { name: shard, namespace: WATCHED }, spec: { instances: 1 } } as KubernetesObject);
    status('postgrescluster', shard, { currentPrimary: `${shard}-1` });
    await objects.create({ apiVersion: 'v1', kind: 'Pod', metadata: { name: `${shard}-1`, namespace: WATCHED }, spec: { containers: [{ name: 'postgres', image: 'img:test' }] } } as KubernetesObject);
    status('pod', `${shard}-1`, { podIP: `10.9.0.${i + 5}`, podIPs: [{ ip: `10.9.0.${i + 5}` }] });
  }
  await objects.create({ apiVersion: 'v1', kind: 'Secret', type: 'kubernetes.io/tls', metadata: { name: 'shop-min-80-ca-key', namespace: WATCHED },
    stringData: { 'tls.crt': ca.cert, 'tls.key': ca.key } } as KubernetesObject);
  await objects.create({ apiVersion: API, kind: 'ShardRange', metadata: { name: 'shop-orders', namespace: WATCHED }, spec: {
    cluster: { name: 'shop' }, tableGroup: 'orders', vindex: { type: 'hash', column: 'customer_id' }, tables: ['orders'],
    ranges: [{ start: '', end: '80', shard: '-80' }, { start: '80', end: '', shard: '80-' }],
  } } as KubernetesObject);
  status('shardrange', 'shop-orders', { phase: 'Ready', version: 1 });

  const log = createLogger('test');
  const routers = new K8sRouters(operator, new K8sResourceStore(operator, log, undefined, WATCHED), shardingFromShardRanges, 'img:test', DEFAULT_TLS_POLICY, log, 0);
  await routers.tick();
  const core = admin.makeApiClient(CoreV1Api);
  const cm = await core.readNamespacedConfigMap({ namespace: WATCHED, name: 'shop-router' });
  const table = JSON.parse(cm.data?.['router.json'] ?? '{}') as { shards: { name: string; host: string; ca: { secret: string } }[] };
  assert.deepEqual(table.shards.map((s) => [s.name, s.host, s.ca.secret]), [['-80', '10.9.0.5', 'shop-min-80-ca'], ['80-', '10.9.0.6', 'shop-80-max-ca']]);
  const tls = await core.readNamespacedSecret({ namespace: WATCHED, name: 'shop-router-tls' });
  const facts = await inspectCert(Buffer.from(tls.data?.['tls.crt'] ?? '', 'base64').toString(), ca.cert);
  assert.ok(facts.signedByCa && facts.dns.includes(`shop-router.${WATCHED}.svc`), 'the router certificate: the first shard\'s CA, the Service\'s name');
  const shop = await objects.read({ apiVersion: API, kind: 'PostgresCluster', metadata: { name: 'shop', namespace: WATCHED } }) as { status?: { router?: unknown; conditions?: { type: string; status: string; reason: string }[] } };
  assert.deepEqual(shop.status?.router, { endpoint: `shop-router.${WATCHED}.svc:5432`, caSecret: 'shop-min-80-ca', replicas: 2, readyReplicas: 0, generation: 1 });
  assert.deepEqual(shop.status?.conditions?.filter((c) => c.type === 'RouterReady').map((c) => [c.status, c.reason]), [['False', 'NoReadyRouter']]);
  expectCan(`system:serviceaccount:${WATCHED}:shop-router`, [
    ['get', 'configmaps/shop-router', WATCHED, true], ['get', 'secrets/shop-min-80-ca', WATCHED, true], ['get', 'secrets/shop-80-max-ca', WATCHED, true],
    ['get', 'secrets/shop-router-auth', WATCHED, true], ['get', 'secrets/shop-router-tls', WATCHED, true],
    // The lookup role's password (ADR 0039), not a superuser's: no shard's superuser Secret is readable.
    ['get', 'secrets/shop-min-80-superuser', WATCHED, false],
    ['get', 'secrets/shop-min-80-ca-key', WATCHED, false], ['get', 'secrets/shop-80-max-superuser', WATCHED, false], ['list', 'secrets', WATCHED, false],
    ['get', 'shardranges.postgres.keiailab.io', WATCHED, false], ['update', 'configmaps/shop-router', WATCHED, false], ['create', 'pods', WATCHED, false],
  ]);

  // The cluster gone: the next beat removes everything the router owned.
  assert.equal(kubectl(['delete', 'postgrescluster', 'shop', '-n', WATCHED]).status, 0);
  await routers.tick();
  const left = kubectl(['get', 'deployments,services,roles,rolebindings,serviceaccounts,networkpolicies,configmaps,secrets', '-n', WATCHED, '-l', 'postgres.keiailab.io/router=shop', '-o', 'name']);
  assert.equal(left.status, 0, left.stderr);
  assert.equal(left.stdout.trim(), '', 'the router\'s objects are gone');
});
