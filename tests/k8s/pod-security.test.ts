// Every Pod pgop runs passes the apiserver's own Pod Security admission at the `restricted` level: the operator and
// Redis Pods made from the rendered chart, and an instance Pod as the operator builds it. A bare Pod is refused
// there, so the namespace really enforces.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { startControlPlane, kubectlBin, type ControlPlane } from './harness/control-plane.js';
import { helmBin, renderChart } from './harness/helm.js';
import { instancePod } from '../../adapters/k8s/specs/pod.js';
import { poolerDeployment } from '../../adapters/k8s/specs/pooler-objects.js';

const NS = 'restricted';
let cp: ControlPlane;
let helm = '';
const kubectl = (args: string[]) => spawnSync(kubectlBin, ['--kubeconfig', cp.kubeconfig, ...args], { encoding: 'utf8', timeout: 60_000 });

/** Creates the Pod for real (admission runs on create); returns kubectl's result. */
function createPod(pod: object) {
  const file = join(cp.dir, `pod-${Date.now()}-${Math.random().toString(16).slice(2)}.json`);
  writeFileSync(file, JSON.stringify(pod));
  return kubectl(['create', '-f', file]);
}

interface Template { metadata: { labels: Record<string, string> }; spec: { volumes?: object[] } & Record<string, unknown> }

before(async () => {
  helm = helmBin();
  cp = await startControlPlane();
  assert.equal(kubectl(['create', 'namespace', NS]).status, 0);
  assert.equal(kubectl(['label', 'namespace', NS, 'pod-security.kubernetes.io/enforce=restricted', 'pod-security.kubernetes.io/enforce-version=latest']).status, 0);
}, { timeout: 60 * 60_000 });
after(async () => { await cp?.stop(); });

test('the namespace enforces: a Pod without a restricted securityContext is refused', () => {
  const r = createPod({ apiVersion: 'v1', kind: 'Pod', metadata: { name: 'bare', namespace: NS }, spec: { containers: [{ name: 'c', image: 'busybox' }] } });
  assert.notEqual(r.status, 0);
  assert.match(r.stderr, /violates PodSecurity "restricted/);
});

test('the operator and Redis Pods of the chart are admitted at the restricted level', () => {
  const { objects } = renderChart(helm, 'pgop', NS);
  for (const [kind, name, claims] of [['Deployment', 'operator', []], ['StatefulSet', 'redis', ['data']]] as const) {
    const template = (objects.find((o) => o.kind === kind) as { spec: { template: Template } } | undefined)?.spec.template;
    assert.ok(template, kind);
    const r = createPod({
      apiVersion: 'v1', kind: 'Pod', metadata: { name, namespace: NS, labels: template.metadata.labels },
      spec: { ...template.spec, volumes: [...(template.spec.volumes ?? []), ...claims.map((c) => ({ name: c, emptyDir: {} }))] },
    });
    assert.equal(r.status, 0, `${kind}: ${r.stderr}`);
    assert.doesNotMatch(r.stderr, /Warning/, `${kind}: ${r.stderr}`);
  }
});

test('an instance Pod as the operator builds it is admitted at the restricted level', () => {
  const owner = { apiVersion: 'postgres.keiailab.io/v1alpha1', kind: 'PostgresCluster', name: 'demo', uid: '00000000-0000-0000-0000-000000000001' };
  const pod = instancePod({ cluster: 'demo', namespace: NS, instance: 'demo-1', serial: 1, bootstrap: 'initdb', image: 'pgop:dev', storageSize: '1Gi', owner });
  // The owner does not exist here; the reference is irrelevant to admission.
  const r = createPod({ ...pod, metadata: { ...pod.metadata, ownerReferences: [] } });
  assert.equal(r.status, 0, r.stderr);
  assert.doesNotMatch(r.stderr, /Warning/, r.stderr);
});

test('a Pooler\'s PgBouncer Pod as its Deployment builds it is admitted at the restricted level', () => {
  const owner = { apiVersion: 'postgres.keiailab.io/v1alpha1', kind: 'Pooler', name: 'pool', uid: '00000000-0000-0000-0000-000000000002' };
  const template = poolerDeployment({ name: 'pool', namespace: NS, cluster: 'demo', image: 'pgop:dev', owner, instances: 2 }).spec.template;
  const r = createPod({ apiVersion: 'v1', kind: 'Pod', metadata: { name: 'pool-1', namespace: NS, labels: template.metadata.labels }, spec: template.spec });
  assert.equal(r.status, 0, r.stderr);
  assert.doesNotMatch(r.stderr, /Warning/, r.stderr);
});
