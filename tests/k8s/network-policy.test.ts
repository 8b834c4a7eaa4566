// The NetworkPolicies name the operator by what the chart really deploys: the clusters' policy (built by the
// operator from the env the chart gives it) and the in-chart Redis policy are evaluated by the real apiserver's
// label selectors against Pods made from the rendered Deployment and StatefulSet templates, next to impostors.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { startControlPlane, kubectlBin, type ControlPlane } from './harness/control-plane.js';
import { helmBin, renderChart, type Rendered } from './harness/helm.js';
import { networkPolicy } from '../../adapters/k8s/specs/cluster-objects.js';
import { clusterLabels, LABEL } from '../../adapters/k8s/specs/labels.js';
import { operatorPeer } from '../../adapters/k8s/specs/operator-peer.js';
import { AGENT_PORT, POSTGRES_PORT } from '../../adapters/k8s/specs/names.js';
import { PGBACKREST_TLS_PORT } from '../../adapters/backup/pgbackrest-config.js';

interface Selector { matchLabels?: Record<string, string>; matchExpressions?: { key: string; operator: string }[] }
interface Peer { namespaceSelector?: Selector; podSelector?: Selector }
interface Rule { ports: { port: number }[]; from: Peer[] }
interface PodTemplate { metadata: { labels: Record<string, string> }; spec: { containers: { env?: { name: string; value?: string }[] }[]; volumes?: object[] } }

let cp: ControlPlane;
let helm = '';
const kubectl = (args: string[]) => spawnSync(kubectlBin, ['--kubeconfig', cp.kubeconfig, ...args], { encoding: 'utf8', timeout: 60_000 });
const selectorText = (s: Selector | undefined) => [
  ...Object.entries(s?.matchLabels ?? {}).map(([k, v]) => `${k}=${v}`),
  ...(s?.matchExpressions ?? []).map((e) => { assert.equal(e.operator, 'Exists'); return e.key; }),
].join(',');
const owner = { apiVersion: 'postgres.keiailab.io/v1alpha1', kind: 'PostgresCluster', name: 'demo', uid: 'u-1' };

function apply(objects: object[]): void {
  const file = join(cp.dir, `objects-${Date.now()}-${Math.random().toString(16).slice(2)}.yaml`);
  writeFileSync(file, objects.map((o) => `---\n${JSON.stringify(o)}\n`).join(''));
  const r = kubectl(['apply', '--server-side', '-f', file]);
  assert.equal(r.status, 0, r.stderr);
}

/** `namespace/pod` of every Pod a policy peer admits, as the apiserver's own selectors evaluate it. */
function admitted(peer: Peer, policyNamespace: string): string[] {
  const namespaces = peer.namespaceSelector
    ? kubectl(['get', 'namespaces', '-l', selectorText(peer.namespaceSelector), '-o', 'jsonpath={.items[*].metadata.name}']).stdout.split(' ').filter(Boolean)
    : [policyNamespace];
  return namespaces.flatMap((ns) => kubectl(['get', 'pods', '-n', ns, '-l', selectorText(peer.podSelector), '-o', 'jsonpath={.items[*].metadata.name}'])
    .stdout.split(' ').filter(Boolean).map((p) => `${ns}/${p}`)).sort();
}

/** A Pod as the controller would make it from a template; a StatefulSet's claim template becomes an emptyDir here. */
const podFrom = (name: string, namespace: string, template: PodTemplate, claims: string[] = []) => ({
  apiVersion: 'v1', kind: 'Pod', metadata: { name, namespace, labels: template.metadata.labels },
  spec: { ...template.spec, volumes: [...(template.spec.volumes ?? []), ...claims.map((c) => ({ name: c, emptyDir: {} }))] },
});
const templateOf = (objects: Rendered[], kind: string) => (objects.find((o) => o.kind === kind) as { spec: { template: PodTemplate } } | undefined)?.spec.template;

before(async () => {
  helm = helmBin();
  cp = await startControlPlane();
  for (const ns of ['pgop-system', 'ops', 'apps']) assert.equal(kubectl(['create', 'namespace', ns]).status, 0);
}, { timeout: 60 * 60_000 });
after(async () => { await cp?.stop(); });

for (const [release, namespace] of [['pgop', 'pgop-system'], ['ops', 'ops']] as const) {
  test(`release ${release} in ${namespace}: the clusters' policy and the Redis policy admit exactly the operator's Pods`, () => {
    const { objects } = renderChart(helm, release, namespace);
    const operator = templateOf(objects, 'Deployment');
    const redis = templateOf(objects, 'StatefulSet');
    assert.ok(operator && redis);
    // What the operator builds its clusters' policy from: its namespace (POD_NAMESPACE) and the labels the chart passes.
    const labels = operator.spec.containers[0]?.env?.find((e) => e.name === 'PGOP_OPERATOR_LABELS')?.value;
    assert.ok(labels, 'the chart passes PGOP_OPERATOR_LABELS');
    const policy = networkPolicy('demo', 'apps', owner, operatorPeer(namespace, labels));
    apply([
      podFrom(`${release}-operator`, namespace, operator), podFrom(`${release}-redis`, namespace, redis, ['data']),
      // Impostors: the operator's labels in another namespace, and an unrelated Pod in the operator's namespace.
      podFrom(`${release}-impostor`, 'apps', operator), { ...podFrom(`${release}-other`, namespace, operator), metadata: { name: `${release}-other`, namespace, labels: { app: 'other' } } },
      { apiVersion: 'v1', kind: 'Pod', metadata: { name: `${release}-demo-1`, namespace: 'apps', labels: { ...clusterLabels('demo'), [LABEL.instance]: 'demo-1' } }, spec: { containers: [{ name: 'postgres', image: 'pgop:dev' }] } },
      // A Pod of the cluster that is not an instance (a pooler carries the cluster label too).
      { apiVersion: 'v1', kind: 'Pod', metadata: { name: `${release}-demo-pooler`, namespace: 'apps', labels: clusterLabels('demo') }, spec: { containers: [{ name: 'pgbouncer', image: 'pgop:dev' }] } },
      policy,
    ]);
    const rules = policy.spec.ingress as Rule[];
    const agentRule = rules.find((r) => r.ports.some((p) => p.port === AGENT_PORT));
    assert.deepEqual(agentRule?.from.flatMap((p) => admitted(p, 'apps')), [`${namespace}/${release}-operator`], 'agent API: the operator only');
    const pg = rules.find((r) => r.ports.some((p) => p.port === POSTGRES_PORT));
    assert.ok(pg?.from.flatMap((p) => admitted(p, 'apps')).includes(`${namespace}/${release}-operator`), 'postgres: the operator too');
    assert.ok(admitted({ podSelector: policy.spec.podSelector }, 'apps').includes(`apps/${release}-demo-1`), 'the policy covers the instance Pods');
    const backrest = rules.find((r) => r.ports.some((p) => p.port === PGBACKREST_TLS_PORT));
    // pgbackrest server (ADR 0035): the cluster's instance Pods (an earlier release's demo-1 is one too), never its
    // pooler nor the operator.
    const backrestPeers = backrest?.from.flatMap((p) => admitted(p, 'apps')) ?? [];
    assert.ok(backrestPeers.includes(`apps/${release}-demo-1`), 'pgbackrest server: the cluster\'s instances');
    assert.ok(backrestPeers.every((p) => p.startsWith('apps/') && p.endsWith('-demo-1')), `pgbackrest server: instances only, got ${backrestPeers.join(', ')}`);

    // The in-chart Redis: its policy selects the Redis Pod and admits the operator's Pods only.
    const redisPolicy = objects.find((o) => o.kind === 'NetworkPolicy') as { spec: { podSelector: Selector; ingress: Rule[] } } | undefined;
    assert.ok(redisPolicy);
    apply([redisPolicy]);
    assert.deepEqual(admitted({ podSelector: redisPolicy.spec.podSelector }, namespace), [`${namespace}/${release}-redis`]);
    assert.deepEqual(redisPolicy.spec.ingress.flatMap((r) => r.from.flatMap((p) => admitted(p, namespace))), [`${namespace}/${release}-operator`]);
  });
}
