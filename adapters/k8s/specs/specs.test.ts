import { test } from 'node:test';
import assert from 'node:assert/strict';
import { clusterServices } from './services.js';
import { instancePod, instancePvc } from './pod.js';
import { instanceIdentity, networkPolicy } from './cluster-objects.js';
import { checkNamespace, operatorPeer, parseOperatorLabels } from './operator-peer.js';
import { desiredRoleLabels } from './role-labels.js';
import { AGENT_PORT, DATA_MOUNT, POSTGRES_PORT, RUN_MOUNT } from './names.js';
import { LABEL } from './labels.js';
import { PGBACKREST_TLS_PORT } from '../../backup/pgbackrest-config.js';

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

const placement = { cluster: 'demo', namespace: 'db', instance: 'demo-1', serial: 1, bootstrap: 'initdb' as const, image: 'pgop:dev', storageSize: '1Gi', owner };

test('an instance Pod runs restricted: non-root, no privilege escalation, no capabilities, RuntimeDefault seccomp, read-only root', () => {
  const pod = instancePod(placement);
  assert.equal(pod.spec.securityContext.runAsNonRoot, true);
  assert.equal(pod.spec.securityContext.seccompProfile.type, 'RuntimeDefault');
  for (const c of pod.spec.containers) {
    assert.equal(c.securityContext.runAsNonRoot, true);
    assert.equal(c.securityContext.allowPrivilegeEscalation, false);
    assert.equal(c.securityContext.privileged, false);
    assert.deepEqual(c.securityContext.capabilities.drop, ['ALL']);
    assert.ok(!('add' in c.securityContext.capabilities));
    assert.equal(c.securityContext.seccompProfile.type, 'RuntimeDefault');
    assert.equal(c.securityContext.readOnlyRootFilesystem, true);
  }
});

test('with a read-only root, every path postgres and the agent write is a volume: data, run dir, /tmp, /run/postgresql', () => {
  const pod = instancePod(placement);
  const volumes = new Map(pod.spec.volumes.map((v) => [v.name, v]));
  const mounts = new Map(pod.spec.containers[0]?.volumeMounts.map((m) => [m.mountPath, m.name]));
  assert.equal(volumes.get(mounts.get(DATA_MOUNT) ?? '')?.persistentVolumeClaim?.claimName, 'demo-1-data');
  for (const path of [RUN_MOUNT, '/tmp', '/run/postgresql']) assert.ok(volumes.get(mounts.get(path) ?? '')?.emptyDir, `${path} is an emptyDir`);
});

const peer = operatorPeer('pgop-system', 'app.kubernetes.io/name=pgop,app.kubernetes.io/instance=ops');

test('the NetworkPolicy admits the agent API only from the operator Pods, by their labels and their namespace name', () => {
  const np = networkPolicy('demo', 'db', owner, peer);
  const agent = np.spec.ingress.find((r) => r.ports[0]?.port === AGENT_PORT);
  assert.deepEqual(agent?.from, [{
    namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'pgop-system' } },
    podSelector: { matchLabels: { 'app.kubernetes.io/name': 'pgop', 'app.kubernetes.io/instance': 'ops' } },
  }]);
  const postgres = np.spec.ingress.find((r) => r.ports[0]?.port === POSTGRES_PORT);
  assert.deepEqual(postgres?.from, [{ podSelector: {} }, agent?.from[0]], 'postgres: the namespace\'s Pods and the operator');
  assert.ok(np.spec.ingress.every((r) => r.from.every((f) => !('namespaceSelector' in f) || Object.keys(f.namespaceSelector.matchLabels).length > 0)), 'no any-namespace peer');
  // pgBackRest's TLS server (standby backups, ADR 0035): only this cluster's instance Pods, not the namespace's.
  const pgbackrest = np.spec.ingress.find((r) => r.ports[0]?.port === PGBACKREST_TLS_PORT);
  assert.deepEqual(pgbackrest?.from, [{ podSelector: { matchLabels: { [LABEL.cluster]: 'demo' }, matchExpressions: [{ key: LABEL.instance, operator: 'Exists' }] } }]);
  const pod = instancePod({ cluster: 'demo', namespace: 'db', instance: 'demo-1', serial: 1, bootstrap: 'initdb', image: 'pgop:dev', storageSize: '1Gi', owner });
  assert.ok(pod.spec.containers[0]?.ports.some((p) => p.containerPort === PGBACKREST_TLS_PORT), 'the Pod declares the pgbackrest port');
});

test('operator labels are checked: a bad key, value or empty list is refused with the variable named', () => {
  assert.deepEqual(operatorPeer('ops').labels, { 'app.kubernetes.io/name': 'pgop' });
  for (const bad of ['', 'app.kubernetes.io/name', 'a=b c', '=x', 'x=y\nz', 'a=${x}']) assert.throws(() => parseOperatorLabels(bad), /PGOP_OPERATOR_LABELS/, JSON.stringify(bad));
  assert.throws(() => operatorPeer('Not A Namespace'), /namespace/);
  for (const bad of ['apps/../kube-system', 'a'.repeat(64), '-apps', 'apps\n']) assert.throws(() => checkNamespace(bad, '--watch-namespace'), /--watch-namespace/, JSON.stringify(bad));
  assert.equal(checkNamespace('team-a', '--watch-namespace'), 'team-a');
});

test('the agents\' Role: no Pod writes, no Secret listing, only its cluster\'s Secrets, ConfigMap and Lease by name, no Lease create', () => {
  const role = instanceIdentity('demo', 'db', owner).find((o) => o.kind === 'Role') as { rules: { apiGroups: string[]; resources: string[]; verbs: string[]; resourceNames?: string[] }[] };
  const allowed = (resource: string, verb: string, name?: string) => role.rules.some((r) => r.resources.includes(resource) && r.verbs.includes(verb) && (!r.resourceNames || (name !== undefined && r.resourceNames.includes(name))));
  for (const verb of ['patch', 'update', 'create', 'delete']) assert.ok(!allowed('pods', verb, 'demo-1'), `pods ${verb}`);
  assert.ok(allowed('pods', 'get', 'demo-1') && allowed('pods', 'list'));
  assert.ok(!allowed('secrets', 'list') && !allowed('secrets', 'get', 'other-superuser') && allowed('secrets', 'get', 'demo-superuser'));
  assert.ok(allowed('leases', 'update', 'demo-primary') && !allowed('leases', 'update', 'other-primary') && !allowed('leases', 'create'));
  assert.ok(!allowed('configmaps', 'get', 'other-pgop') && allowed('configmaps', 'get', 'demo-pgop'));
  assert.ok(role.rules.every((r) => !r.verbs.includes('*') && !r.resources.includes('*')));
});

test('role labels follow the primary record only: primary, replicas, a fenced old primary unlabelled, nothing before a primary', () => {
  const pods = ['demo-1', 'demo-2', 'demo-3'];
  assert.deepEqual(desiredRoleLabels({ pods, primary: null, fenced: null }), {});
  assert.deepEqual(desiredRoleLabels({ pods, primary: 'demo-2', fenced: null }), { 'demo-1': 'replica', 'demo-2': 'primary', 'demo-3': 'replica' });
  assert.deepEqual(desiredRoleLabels({ pods, primary: 'demo-2', fenced: 'demo-2' }), { 'demo-1': 'replica', 'demo-2': null, 'demo-3': 'replica' });
});

test('with a metrics namespace, Prometheus there may reach the agent port; without one, only the operator', () => {
  const rules = (p: ReturnType<typeof operatorPeer>) => networkPolicy('demo', 'db', owner, p).spec.ingress;
  assert.equal(rules(peer).length, 3, 'postgres, agent, pgbackrest');
  const withProm = rules(operatorPeer('pgop-system', undefined, 'monitoring'));
  assert.deepEqual(withProm[2], { ports: [{ protocol: 'TCP', port: 8000 }], from: [{ namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'monitoring' } } }] });
  assert.throws(() => operatorPeer('pgop-system', undefined, 'Bad NS'), /PGOP_METRICS_NAMESPACE/);
});
