// The Helm chart rendered with a real helm (built from the Go module proxy) and checked by the real apiserver
// (server-side dry run), with its values schema enforced.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseAllDocuments } from 'yaml';
import { startControlPlane, kubectlBin, type ControlPlane } from './harness/control-plane.js';
import { repoRoot } from '../helpers/cli.js';

let cp: ControlPlane;
let helm = '';
const chart = join(repoRoot, 'chart');
const render = (args: string[] = []) => spawnSync(helm, ['template', 'pgop', chart, '--namespace', 'pgop-system', '--kube-version', '1.34.0', ...args], { encoding: 'utf8' });
const kinds = (yaml: string) => parseAllDocuments(yaml).map((d) => d.toJS() as { kind?: string } | null).filter((d): d is { kind: string } => !!d?.kind).map((d) => d.kind);

before(async () => {
  helm = execFileSync('bash', [join(repoRoot, 'tests', 'k8s', 'bins', 'build-helm.sh')], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] }).trim().split('\n').at(-1) ?? '';
  cp = await startControlPlane();
}, { timeout: 60 * 60_000 });
after(async () => { await cp?.stop(); });

test('helm lint passes', () => {
  const r = spawnSync(helm, ['lint', chart], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stdout + r.stderr);
});

test('the default render has a 2-replica leader-elected operator, least-privilege RBAC, Redis, metrics and the CRDs', () => {
  const r = render(['--include-crds']);
  assert.equal(r.status, 0, r.stderr);
  const k = kinds(r.stdout);
  for (const kind of ['Deployment', 'ServiceAccount', 'ClusterRole', 'ClusterRoleBinding', 'StatefulSet', 'Service', 'CustomResourceDefinition']) assert.ok(k.includes(kind), kind);
  assert.equal(k.filter((x) => x === 'CustomResourceDefinition').length, 10);
  const deployment = parseAllDocuments(r.stdout).map((d) => d.toJS() as { kind: string; spec: { replicas: number } }).find((d) => d?.kind === 'Deployment');
  assert.equal(deployment?.spec.replicas, 2);
  assert.doesNotMatch(r.stdout, /resources: \["\*"\]|verbs: \["\*"\]/, 'no wildcard RBAC');
});

test('the apiserver accepts every rendered object (server-side dry run)', () => {
  const r = render(['--include-crds']);
  const file = join(cp.dir, 'rendered.yaml');
  writeFileSync(file, r.stdout);
  spawnSync(kubectlBin, ['--kubeconfig', cp.kubeconfig, 'create', 'namespace', 'pgop-system'], { encoding: 'utf8' });
  const crds = spawnSync(kubectlBin, ['--kubeconfig', cp.kubeconfig, 'apply', '--server-side', '-f', join(chart, 'crds')], { encoding: 'utf8' });
  assert.equal(crds.status, 0, crds.stderr);
  const dry = spawnSync(kubectlBin, ['--kubeconfig', cp.kubeconfig, 'apply', '--dry-run=server', '-f', file], { encoding: 'utf8' });
  assert.equal(dry.status, 0, dry.stderr);
});

test('optional monitoring objects and an external Redis render on request; bad values are refused by the schema', () => {
  const r = render(['--set', 'metrics.serviceMonitor.enabled=true', '--set', 'metrics.prometheusRule.enabled=true', '--set', 'redis.url=redis://redis.example:6379']);
  assert.equal(r.status, 0, r.stderr);
  const k = kinds(r.stdout);
  assert.ok(k.includes('ServiceMonitor') && k.includes('PrometheusRule'));
  assert.ok(!k.includes('StatefulSet'), 'no in-chart Redis when an external one is given');
  assert.match(r.stdout, /value: "redis:\/\/redis\.example:6379"/);
  const bad = render(['--set', 'replicas=0']);
  assert.notEqual(bad.status, 0);
  assert.match(bad.stderr, /replicas/);
});
