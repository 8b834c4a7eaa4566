// The Helm chart rendered with a real helm (built from the Go module proxy) and checked by the real apiserver
// (server-side dry run), with its values schema enforced; its Pods restricted, its Redis behind a password.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseAllDocuments } from 'yaml';
import { startControlPlane, kubectlBin, type ControlPlane } from './harness/control-plane.js';
import { repoRoot } from '../helpers/cli.js';
import { freePort } from '../../adapters/local/ports.js';
import { pingRedis } from '../../adapters/local/redis-server.js';

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

interface Container { name: string; args?: string[]; env?: { name: string; value?: string; valueFrom?: { secretKeyRef?: { name: string; key: string } } }[]; securityContext?: Record<string, unknown>; volumeMounts?: { name: string; mountPath: string }[] }
interface Workload { kind: string; metadata: { name: string }; spec: { template: { spec: { securityContext?: Record<string, unknown>; containers: Container[]; volumes?: { name: string; emptyDir?: object }[] } } } }
const objects = (yaml: string) => parseAllDocuments(yaml).map((d) => d.toJS() as { kind?: string } | null).filter((d): d is { kind: string } => !!d?.kind);

test('every Pod the chart runs is restricted with a read-only root and a writable /tmp', () => {
  const r = render();
  const workloads = objects(r.stdout).filter((o) => o.kind === 'Deployment' || o.kind === 'StatefulSet') as Workload[];
  assert.deepEqual(workloads.map((w) => w.kind).sort(), ['Deployment', 'StatefulSet']);
  for (const w of workloads) {
    const pod = w.spec.template.spec;
    assert.equal(pod.securityContext?.runAsNonRoot, true, w.kind);
    assert.deepEqual(pod.securityContext?.seccompProfile, { type: 'RuntimeDefault' }, w.kind);
    for (const c of pod.containers) {
      const sc = c.securityContext ?? {};
      assert.equal(sc.allowPrivilegeEscalation, false, `${w.kind}/${c.name}`);
      assert.equal(sc.readOnlyRootFilesystem, true, `${w.kind}/${c.name}`);
      assert.equal(sc.runAsNonRoot, true, `${w.kind}/${c.name}`);
      assert.deepEqual(sc.capabilities, { drop: ['ALL'] }, `${w.kind}/${c.name}`);
      assert.deepEqual(sc.seccompProfile, { type: 'RuntimeDefault' }, `${w.kind}/${c.name}`);
      const tmp = c.volumeMounts?.find((m) => m.mountPath === '/tmp');
      assert.ok(tmp && pod.volumes?.find((v) => v.name === tmp.name)?.emptyDir, `${w.kind}/${c.name}: /tmp is an emptyDir`);
    }
  }
});

test('the in-chart Redis refuses clients without the generated password, which reaches it by file and the operator by env', async () => {
  const all = objects(render().stdout);
  const secret = all.find((o) => o.kind === 'Secret') as { metadata: { name: string }; data: Record<string, string> } | undefined;
  assert.ok(secret, 'a generated Secret');
  const password = Buffer.from(secret.data.password ?? '', 'base64').toString('utf8');
  assert.ok(password.length >= 32);
  const redis = (all.find((o) => o.kind === 'StatefulSet') as Workload).spec.template.spec.containers[0];
  const operator = (all.find((o) => o.kind === 'Deployment') as Workload).spec.template.spec.containers[0];
  assert.ok(redis && operator);
  assert.ok(!(redis.args ?? []).some((a) => a.includes(password) || a.includes('requirepass')), 'no password in argv');
  const env = operator.env ?? [];
  const pw = env.findIndex((e) => e.name === 'REDIS_PASSWORD');
  const url = env.findIndex((e) => e.name === 'REDIS_URL');
  assert.deepEqual(env[pw]?.valueFrom?.secretKeyRef, { name: secret.metadata.name, key: 'password' });
  assert.ok(pw >= 0 && pw < url, 'REDIS_PASSWORD is declared before REDIS_URL expands it');
  assert.ok(!JSON.stringify(all.filter((o) => o.kind !== 'Secret')).includes(password), 'the password is a literal nowhere but the Secret');

  // A real redis-server with the rendered arguments and the Secret's config file (paths mapped to a temp dir).
  const dir = mkdtempSync(join(tmpdir(), 'pgop-chart-redis-'));
  const conf = join(dir, 'redis.conf');
  writeFileSync(conf, Buffer.from(secret.data['redis.conf'] ?? '', 'base64'));
  const port = await freePort();
  const args = (redis.args ?? []).map((a) => (a === '/etc/pgop-redis/redis.conf' ? conf : a === '/data' ? dir : a));
  const child = spawn('redis-server', [...args, '--port', String(port), '--bind', '127.0.0.1', '--daemonize', 'no'], { stdio: 'ignore' });
  try {
    const expanded = (env[url]?.value ?? '').replace('$(REDIS_PASSWORD)', password).replace('pgop-redis:6379', `127.0.0.1:${port}`);
    let up = false;
    for (let i = 0; i < 100 && !up; i++) { up = await pingRedis(expanded, 500); if (!up) await new Promise((res) => setTimeout(res, 100)); }
    assert.ok(up, 'the operator\'s REDIS_URL, expanded as the kubelet does, authenticates');
    assert.equal(await pingRedis(`redis://127.0.0.1:${port}`, 500), false, 'no password: refused');
    assert.equal(await pingRedis(`redis://:wrong@127.0.0.1:${port}`, 500), false, 'a wrong password: refused');
  } finally {
    child.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  }
});

test('watchNamespace takes one namespace name: a list, a path or markup is refused by the values schema', () => {
  assert.equal(render(['--set', 'watchNamespace=team-a']).status, 0);
  for (const bad of ['a,b', 'apps/../kube-system', 'Apps', 'x}}{{', `n${'a'.repeat(63)}`]) {
    const file = join(cp.dir, 'values-watch.yaml');
    writeFileSync(file, `watchNamespace: ${JSON.stringify(bad)}\n`);
    const r = render(['-f', file]);
    assert.notEqual(r.status, 0, bad);
    assert.match(r.stderr, /watchNamespace/, bad);
  }
});

test('an external Redis with a password is reached through a URL from the user\'s Secret, and no in-chart Redis runs', () => {
  const r = render(['--set', 'redis.urlSecret.name=external-redis']);
  assert.equal(r.status, 0, r.stderr);
  const all = objects(r.stdout);
  assert.ok(!all.some((o) => o.kind === 'StatefulSet' || o.kind === 'Secret'), 'no in-chart Redis, no generated password');
  const env = (all.find((o) => o.kind === 'Deployment') as Workload).spec.template.spec.containers[0]?.env ?? [];
  assert.deepEqual(env.find((e) => e.name === 'REDIS_URL')?.valueFrom?.secretKeyRef, { name: 'external-redis', key: 'url' });
  assert.ok(!env.some((e) => e.name === 'REDIS_PASSWORD'));
});
