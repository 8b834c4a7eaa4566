import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  readOnlyRouterObjectRefs, routerConfigMap, routerDeployment, routerIdentity, routerObjectRefs, routerServerNames, routerService, type RouterPlacement, type RouterPodConfig,
} from './router-objects.js';

const owner = { apiVersion: 'postgres.keiailab.io/v1alpha1', kind: 'PostgresCluster', name: 'shop', uid: 'u-1' };
const p: RouterPlacement = { cluster: 'shop', namespace: 'ns', image: 'img:1', owner, replicas: 1, poolSize: 20 };
const config: RouterPodConfig = {
  cluster: 'shop', generation: 3,
  shards: [
    { name: '-80', host: '10.0.0.1', port: 5432, servername: '10.0.0.1', ca: { secret: 'shop-min-80-ca', key: 'ca.crt' } },
    { name: '80-', host: '10.0.0.2', port: 5432, servername: '10.0.0.2', ca: { secret: 'shop-80-max-ca', key: 'ca.crt' } },
  ],
  tables: { orders: { column: 'customer_id', type: 'integer' } }, referenceTables: [],
  auth: { user: 'postgres', database: 'postgres', password: { secret: 'shop-min-80-superuser', key: 'password' } },
  tls: { secret: 'shop-router-tls' }, pool: { size: 20 },
};

test('the router Deployment runs `pgop router --kubernetes` restricted, never fewer than 2 pods; the Service selects them', () => {
  const d = routerDeployment(p);
  assert.equal(d.metadata.name, 'shop-router');
  assert.equal(d.spec.replicas, 2, 'stateless and at least two: one pod lost never empties the Service');
  const c = d.spec.template.spec.containers[0]!;
  assert.equal(c.image, 'img:1');
  assert.deepEqual(c.args, ['router', '--kubernetes']);
  assert.equal(c.securityContext.readOnlyRootFilesystem, true);
  assert.deepEqual(c.securityContext.capabilities.drop, ['ALL']);
  assert.equal(d.spec.template.spec.securityContext.runAsNonRoot, true);
  assert.deepEqual(d.spec.selector.matchLabels, routerService(p).spec.selector);
  for (const [k, v] of Object.entries(routerService(p).spec.selector)) assert.equal(d.spec.template.metadata.labels[k], v);
  assert.deepEqual(d.metadata.ownerReferences, [{ ...owner, controller: true, blockOwnerDeletion: true }]);
});

test('spec.router.replicas sets the pod count; a new poolSize changes the pod template, so the Deployment rolls', () => {
  assert.equal(routerDeployment({ ...p, replicas: 5 }).spec.replicas, 5);
  const before = routerDeployment(p).spec.template;
  const after = routerDeployment({ ...p, poolSize: 50 }).spec.template;
  assert.equal(after.metadata.annotations['postgres.keiailab.io/router-pool-size'], '50');
  assert.notDeepEqual(after, before, 'the template differs: the pods restart with the new pool size');
  assert.deepEqual(routerDeployment({ ...p }).spec.template, before, 'the same spec gives the same template: no restart');
});

test('the pods may read their ConfigMap and the Secrets it names only; the ConfigMap holds no secret value', () => {
  const role = routerIdentity(p, config)[1] as { rules: { resources: string[]; resourceNames: string[]; verbs: string[] }[] };
  assert.deepEqual(role.rules.map((r) => [r.resources[0], r.resourceNames, r.verbs]), [
    ['configmaps', ['shop-router'], ['get']],
    ['secrets', ['shop-min-80-ca', 'shop-80-max-ca', 'shop-min-80-superuser', 'shop-router-tls'], ['get']],
  ]);
  const cm = routerConfigMap(p, config);
  assert.deepEqual(JSON.parse(cm.data['router.json']), config);
});

test('the router certificate names the Service in every form; removal covers every object the router owns', () => {
  assert.deepEqual(routerServerNames('shop', 'ns').dns.slice(0, 4), ['shop-router', 'shop-router.ns', 'shop-router.ns.svc', 'shop-router.ns.svc.cluster.local']);
  assert.deepEqual(routerServerNames('shop', 'ns').dns.slice(4, 8), ['shop-router-ro', 'shop-router-ro.ns', 'shop-router-ro.ns.svc', 'shop-router-ro.ns.svc.cluster.local']);
  assert.deepEqual(routerObjectRefs('shop').map(([, kind, name]) => `${kind}/${name}`), [
    'Deployment/shop-router', 'Service/shop-router', 'NetworkPolicy/shop-router', 'ConfigMap/shop-router',
    'RoleBinding/shop-router', 'Role/shop-router', 'ServiceAccount/shop-router',
    'Deployment/shop-router-ro', 'Service/shop-router-ro', 'NetworkPolicy/shop-router-ro', 'ConfigMap/shop-router-ro',
    'RoleBinding/shop-router-ro', 'Role/shop-router-ro', 'ServiceAccount/shop-router-ro', 'Secret/shop-router-tls', 'Secret/shop-router-auth',
  ]);
  assert.ok(readOnlyRouterObjectRefs('shop').every(([, , name]) => name === 'shop-router-ro'), 'turning readOnly off keeps the shared Secrets');
});

test('the read-only router: its own objects, pods the read-write selector never takes in, and its ConfigMap named in env', () => {
  const ro: RouterPlacement = { ...p, readOnly: true };
  const roConfig: RouterPodConfig = {
    cluster: 'shop', generation: 0, shards: [], tables: {}, referenceTables: [],
    replicas: { targets: [{ host: '10.0.0.7', port: 5432 }], servername: 'shop-any.ns.svc', ca: { secret: 'shop-ca', key: 'ca.crt' } },
    auth: config.auth, tls: config.tls, pool: config.pool,
  };
  const d = routerDeployment(ro);
  assert.equal(d.metadata.name, 'shop-router-ro');
  assert.equal(routerService(ro).metadata.name, 'shop-router-ro');
  const rwSelector = routerDeployment(p).spec.selector.matchLabels;
  const roLabels = d.spec.template.metadata.labels;
  assert.ok(Object.entries(rwSelector).some(([k, v]) => roLabels[k] !== v), 'the read-write Deployment and Service do not select read-only pods');
  for (const [k, v] of Object.entries(routerService(ro).spec.selector)) assert.equal(roLabels[k], v);
  const env = d.spec.template.spec.containers[0]!.env;
  assert.deepEqual(env.find((e) => e.name === 'PGOP_ROUTER_CONFIGMAP'), { name: 'PGOP_ROUTER_CONFIGMAP', value: 'shop-router-ro' });
  assert.equal(d.spec.template.spec.serviceAccountName, 'shop-router-ro');
  const role = routerIdentity(ro, roConfig)[1] as { rules: { resourceNames: string[] }[] };
  assert.deepEqual(role.rules.map((r) => r.resourceNames), [['shop-router-ro'], ['shop-ca', 'shop-min-80-superuser', 'shop-router-tls']]);
});

test('an unsharded cluster\'s router (ADR 0034): its pods may read the cluster CA beside the auth and certificate Secrets', () => {
  const unsharded: RouterPodConfig = {
    cluster: 'demo', generation: 0, shards: [], tables: {}, referenceTables: [],
    backend: { host: '10.0.0.9', port: 5432, servername: '10.0.0.9', ca: { secret: 'demo-ca', key: 'ca.crt' } },
    auth: { user: 'postgres', database: 'postgres', password: { secret: 'demo-superuser', key: 'password' } },
    tls: { secret: 'demo-router-tls' }, pool: { size: 20 },
  };
  const q: RouterPlacement = { ...p, cluster: 'demo' };
  const role = routerIdentity(q, unsharded)[1] as { rules: { resources: string[]; resourceNames: string[] }[] };
  assert.deepEqual(role.rules[1]?.resourceNames, ['demo-ca', 'demo-superuser', 'demo-router-tls']);
  const cm = routerConfigMap(q, unsharded);
  assert.equal(cm.metadata.name, 'demo-router');
  assert.deepEqual((JSON.parse(cm.data['router.json']!) as RouterPodConfig).backend?.host, '10.0.0.9');
  assert.ok(!cm.data['router.json']!.includes('password":"'), 'names the Secret, never a value');
});
