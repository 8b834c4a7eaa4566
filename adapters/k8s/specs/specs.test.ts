import { test } from 'node:test';
import assert from 'node:assert/strict';
import { clusterServices } from './services.js';
import { instancePod, instancePvc } from './pod.js';

const owner = { apiVersion: 'postgres.keiailab.io/v1alpha1', kind: 'PostgresCluster', name: 'demo', uid: 'u-1' };

test('the -rw Service selects the primary by role, -ro the replicas, -r every instance', () => {
  const [rw, ro, r] = clusterServices('demo', 'db', owner);
  assert.deepEqual(rw?.spec.selector, { 'postgres.keiailab.io/cluster': 'demo', 'postgres.keiailab.io/role': 'primary' });
  assert.deepEqual(ro?.spec.selector, { 'postgres.keiailab.io/cluster': 'demo', 'postgres.keiailab.io/role': 'replica' });
  assert.deepEqual(r?.spec.selector, { 'postgres.keiailab.io/cluster': 'demo' });
  assert.equal(rw?.metadata.ownerReferences[0]?.uid, 'u-1');
});

test('an instance Pod mounts its own PVC, runs non-root, and the PVC has no owner so it can outlive the cluster', () => {
  const p = { cluster: 'demo', namespace: 'db', instance: 'demo-2', serial: 2, bootstrap: 'clone' as const, image: 'pgop:dev', storageSize: '1Gi', owner };
  const pod = instancePod(p);
  assert.equal(pod.spec.volumes[0]?.persistentVolumeClaim?.claimName, 'demo-2-data');
  assert.equal(instancePvc(p).metadata.annotations['postgres.keiailab.io/serial'], '2', 'the PVC records the placement a recreated Pod needs');
  assert.equal(pod.spec.securityContext.runAsNonRoot, true);
  assert.equal(pod.metadata.annotations['postgres.keiailab.io/bootstrap'], 'clone');
  assert.ok(!('ownerReferences' in instancePvc(p).metadata));
});
