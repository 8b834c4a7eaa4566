// The generated CRDs on a real kube-apiserver: accepted (structural schemas, CEL within cost budgets), samples
// admitted, printer columns shown by kubectl, and invalid objects refused with messages naming the field.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { writeFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { startControlPlane, kubectlBin, type ControlPlane } from './harness/control-plane.js';
import { repoRoot } from '../helpers/cli.js';

let cp: ControlPlane;
const kubectl = (args: string[], input?: string) => spawnSync(kubectlBin, ['--kubeconfig', cp.kubeconfig, ...args], { encoding: 'utf8', ...(input ? { input } : {}) });

before(async () => { cp = await startControlPlane(); }, { timeout: 60 * 60_000 });
after(async () => { await cp?.stop(); });

test('every CRD is accepted and becomes Established', () => {
  const r = kubectl(['apply', '--server-side', '-f', join(repoRoot, 'chart', 'crds')]);
  assert.equal(r.status, 0, r.stderr);
  const w = kubectl(['wait', '--for=condition=Established', '--timeout=60s', 'crd', '--all']);
  assert.equal(w.status, 0, w.stderr);
  const names = kubectl(['get', 'crd', '-o', 'name']).stdout;
  for (const kind of ['postgresclusters', 'backupjobs', 'scheduledbackups', 'postgresdatabases', 'postgresusers', 'poolers', 'imagecatalogs', 'clusterimagecatalogs', 'shardranges', 'shardsplitjobs']) {
    assert.match(names, new RegExp(`${kind}\\.postgres\\.keiailab\\.io`));
  }
});

test('every sample is admitted by the apiserver', () => {
  for (const f of readdirSync(join(repoRoot, 'crds', 'samples')).filter((x) => x.endsWith('.yaml'))) {
    const r = kubectl(['apply', '-f', join(repoRoot, 'crds', 'samples', f)]);
    assert.equal(r.status, 0, `${f}: ${r.stderr}`);
  }
});

test('kubectl get pgc shows the printer columns with defaults applied', () => {
  const out = execFileSync(kubectlBin, ['--kubeconfig', cp.kubeconfig, 'get', 'pgc'], { encoding: 'utf8' });
  assert.match(out.split('\n')[0] ?? '', /^NAME\s+INSTANCES\s+READY\s+PHASE\s+PRIMARY\s+SHARDS\s+AGE/);
  assert.match(out, /^demo\s+3\s+/m);
  const single = JSON.parse(kubectl(['get', 'pgc', 'single', '-o', 'json']).stdout) as { spec: { bootstrap: { initdb: { database: string } }; primaryUpdateStrategy: string } };
  assert.equal(single.spec.bootstrap.initdb.database, 'app');
  assert.equal(single.spec.primaryUpdateStrategy, 'unsupervised');
});

const bad = (spec: string, name = 'bad') => `apiVersion: postgres.keiailab.io/v1alpha1\nkind: PostgresCluster\nmetadata:\n  name: ${name}\nspec:\n${spec}`;

test('invalid resources are refused with messages naming the field', () => {
  const cases: [string, RegExp][] = [
    ['  instances: 0\n', /spec\.instances: Invalid value: 0: spec\.instances in body should be greater than or equal to 1/],
    ['  instances: three\n', /spec\.instances.*(integer|Invalid value)/],
    ['  instances: 1\n  replicas: 2\n', /unknown field "spec\.replicas"/],
    ['  instances: 1\n  postgresql:\n    parameters:\n      port: "5433"\n', /spec\.postgresql\.parameters: Invalid value: .*parameter port is managed by the operator/],
    ['  instances: 2\n  postgresql:\n    synchronous: { method: any, number: 2 }\n', /spec\.postgresql\.synchronous\.number: Invalid value: .*must be less than spec\.instances/],
    ['  instances: 2\n  sharding: { shards: 3, tableGroups: [{ name: o, vindex: { column: k }, tables: [t] }] }\n', /spec\.sharding\.shards: Invalid value: .*must be a power of two/],
    ['  instances: 2\n  sharding: { shards: 2, tableGroups: [{ name: o, vindex: { column: k }, tables: [t] }, { name: p, vindex: { column: k }, tables: [t] }] }\n', /spec\.sharding\.tableGroups: Invalid value: .*a table may belong to one table group only/],
    ['  instances: 2\n  sharding: { shards: 2, tableGroups: [{ name: o, vindex: { column: k }, tables: [t] }], referenceTables: [t] }\n', /spec\.sharding\.referenceTables: Invalid value: .*cannot also be a distributed table/],
    ['  instances: 2\n  sharding: { shards: 2, tableGroups: [{ name: o, vindex: { column: k }, tables: ["T;x"] }] }\n', /spec\.sharding\.tableGroups\[0\]\.tables\[0\]/],
  ];
  for (const [spec, message] of cases) {
    const r = kubectl(['apply', '-f', '-'], bad(spec));
    assert.notEqual(r.status, 0, spec);
    assert.match(r.stderr, message, r.stderr);
  }
  const range = kubectl(['apply', '-f', '-'], 'apiVersion: postgres.keiailab.io/v1alpha1\nkind: ShardRange\nmetadata: { name: gap }\nspec:\n  cluster: { name: shop }\n  tableGroup: t\n  vindex: { column: id }\n  ranges:\n  - { start: "", end: "40", shard: a }\n  - { start: "80", end: "", shard: b }\n');
  assert.match(range.stderr, /spec\.ranges: Invalid value: .*contiguous/);
});

test('configuration injection is refused by the apiserver: any-case owned parameters, hostile values, pg_hba lines, reserved owners', () => {
  const cases: [string, RegExp][] = [
    ['  instances: 1\n  postgresql:\n    parameters:\n      ARCHIVE_MODE: "on"\n      ARCHIVE_COMMAND: "touch /tmp/pwned-archive-%f"\n', /spec\.postgresql\.parameters: Invalid value: .*managed by the operator/],
    ['  instances: 1\n  postgresql:\n    parameters:\n      Shared_Preload_Libraries: evil\n', /spec\.postgresql\.parameters: Invalid value: .*managed by the operator/],
    ['  instances: 1\n  postgresql:\n    parameters:\n      work-mem: 4MB\n', /spec\.postgresql\.parameters: Invalid value: .*parameter names must be lower-case/],
    ['  instances: 1\n  postgresql:\n    parameters:\n      work_mem: "4MB\\narchive_command = \'touch /tmp/x\'"\n', /spec\.postgresql\.parameters: Invalid value: .*control character/],
    ['  instances: 1\n  postgresql:\n    pgHba:\n    - host app app 10.0.0.0/8 scram-sha-256\n    - host all all 0.0.0.0/0 md5\n', /spec\.postgresql\.pgHba\[1\]: Invalid value: .*must be one rule/],
    ['  instances: 1\n  postgresql:\n    pgHba:\n    - hostnossl all all ::/0 scram-sha-256\n', /spec\.postgresql\.pgHba\[0\]: Invalid value: .*hostnossl is only allowed with reject/],
    ['  instances: 1\n  bootstrap:\n    initdb:\n      owner: streaming_replica\n', /spec\.bootstrap\.initdb\.owner: Invalid value: .*reserved role name/],
    ['  instances: 1\n  bootstrap:\n    initdb:\n      owner: pg_monitor\n', /spec\.bootstrap\.initdb\.owner: Invalid value: .*reserved role name/],
  ];
  for (const [spec, message] of cases) {
    const r = kubectl(['apply', '-f', '-'], bad(spec, 'injected'));
    assert.notEqual(r.status, 0, spec);
    assert.match(r.stderr, message, r.stderr);
  }
  assert.notEqual(kubectl(['get', 'pgc', 'injected']).status, 0, 'nothing was stored');
  const ok = kubectl(['apply', '-f', '-'], bad('  instances: 1\n  postgresql:\n    parameters:\n      work_mem: 4MB\n      myext.setting: "it\'s \\\\ fine"\n    pgHba:\n    - hostssl all +readers fd00::/8 scram-sha-256 clientcert=verify-full\n', 'allowed'));
  assert.equal(ok.status, 0, ok.stderr);
});

test('transition rules hold on update', () => {
  const f = join(cp.dir, 'grow.yaml');
  writeFileSync(f, bad('  instances: 1\n  postgresVersion: 16\n', 'versioned'));
  assert.equal(kubectl(['apply', '-f', f]).status, 0);
  writeFileSync(f, bad('  instances: 1\n  postgresVersion: 15\n', 'versioned'));
  const r = kubectl(['apply', '-f', f]);
  assert.match(r.stderr, /spec\.postgresVersion: Invalid value: .*cannot go down/);
});
