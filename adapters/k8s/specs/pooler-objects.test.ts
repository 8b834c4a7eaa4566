import { test } from 'node:test';
import assert from 'node:assert/strict';
import { poolerDeployment, poolerIdentity, poolerService, type PoolerPlacement, type PoolerPodConfig } from './pooler-objects.js';

const p: PoolerPlacement = { name: 'pool', namespace: 'ns', cluster: 'demo', image: 'img:1', instances: 3, owner: { apiVersion: 'v1', kind: 'Pooler', name: 'pool', uid: 'u' } };
const config = { cluster: 'demo', server: null, authSecret: 'demo-pooler-auth', tls: { caSecret: 'demo-ca', caKey: 'ca.crt', serverSecret: 'demo-server' } } as unknown as PoolerPodConfig;

test('the Deployment runs `pgop pooler` restricted, with the configured image and instances; the Service selects its pods', () => {
  const d = poolerDeployment(p);
  assert.equal(d.spec.replicas, 3);
  const c = d.spec.template.spec.containers[0]!;
  assert.equal(c.image, 'img:1');
  assert.deepEqual(c.args, ['pooler', '--kubernetes']);
  assert.equal(c.securityContext.readOnlyRootFilesystem, true);
  assert.deepEqual(c.securityContext.capabilities.drop, ['ALL']);
  assert.equal(d.spec.template.spec.securityContext.runAsNonRoot, true);
  const labels = d.spec.template.metadata.labels;
  for (const [k, v] of Object.entries(poolerService(p).spec.selector)) assert.equal(labels[k], v);
  assert.deepEqual(d.spec.selector.matchLabels, poolerService(p).spec.selector);
});

test('the pods may read their ConfigMap and the named Secrets only, and write nothing', () => {
  const role = poolerIdentity(p, config)[1] as { rules: { resources: string[]; resourceNames: string[]; verbs: string[] }[] };
  assert.deepEqual(role.rules.map((r) => [r.resources[0], r.resourceNames, r.verbs]), [
    ['configmaps', ['pool-pgbouncer'], ['get']],
    ['secrets', ['demo-pooler-auth', 'demo-ca', 'demo-server'], ['get']],
  ]);
});
