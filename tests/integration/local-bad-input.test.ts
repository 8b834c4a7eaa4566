// Bad input is refused with an error naming the field and the fix, and nothing is started or changed.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync, existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { LocalCluster, pgop, stateDir, sample, processesMentioning } from '../helpers/cli.js';

const scratch = stateDir('pgop-bad-');
const manifest = (name: string, spec: string) => {
  const file = join(scratch, `${name}.yaml`);
  writeFileSync(file, `apiVersion: postgres.keiailab.io/v1alpha1\nkind: PostgresCluster\nmetadata:\n  name: bad\nspec:\n${spec}`);
  return file;
};

const cases: [string, string, RegExp][] = [
  ['zero instances', '  instances: 0\n', /spec\.instances: must be at least 1 \(got 0\)/],
  ['unknown field', '  instances: 1\n  replicas: 2\n', /spec\.replicas: unknown field "replicas"; allowed here: instances/],
  ['wrong type', '  instances: three\n', /spec\.instances: must be an integer \(got "three"\)/],
  ['refused parameter', '  instances: 1\n  postgresql:\n    parameters:\n      listen_addresses: "*"\n', /spec\.postgresql\.parameters: parameter listen_addresses is managed by the operator; remove it/],
  ['own certificates on the local platform', '  instances: 1\n  certificates:\n    serverTLSSecret: mine\n', /spec\.certificates: bring-your-own server certificates .* Kubernetes only; on the local platform remove spec\.certificates/],
];

for (const [index, [what, spec, message]] of cases.entries()) {
  test(`up refuses ${what} before starting anything`, async () => {
    // Short on purpose: a long state directory would be refused first, for its socket path length.
    const state = join(scratch, `state-${index}`);
    const r = await pgop(['local', 'up', '-f', manifest(what.replace(/\W/g, '-'), spec), '--state-dir', state, '--wait']);
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, message);
    assert.match(r.stderr, /nothing was applied/);
    assert.ok(!existsSync(state), 'no state directory was created');
    assert.deepEqual(processesMentioning(state), []);
  });
}

test('a missing file is named', async () => {
  const state = join(scratch, 'state-missing');
  const r = await pgop(['local', 'up', '-f', join(scratch, 'nope.yaml'), '--state-dir', state]);
  assert.notEqual(r.code, 0);
  assert.match(r.stderr, /nope\.yaml: no such file/);
  assert.ok(!existsSync(state));
});

test('an invalid change to a running cluster is refused and the stored object is unchanged', async () => {
  const cluster = new LocalCluster(join(scratch, 'state-running'), 'single');
  after(() => cluster.down());
  await cluster.ok(['local', 'up', '-f', sample('postgrescluster-minimal.yaml'), '--wait', '--timeout', '240']);
  const before = await cluster.get();
  const file = join(scratch, 'single-bad.yaml');
  writeFileSync(file, readFileSync(sample('postgrescluster-minimal.yaml'), 'utf8').replace('instances: 1', 'instances: 1\n  bootstrap:\n    initdb:\n      database: other'));
  const r = await cluster.run(['local', 'apply', '-f', file]);
  assert.notEqual(r.code, 0);
  assert.match(r.stderr, /spec\.bootstrap: is immutable: how a cluster was bootstrapped cannot change/);
  const now = await cluster.get();
  assert.equal(now.metadata.generation, before.metadata.generation);
  assert.deepEqual(now.spec, before.spec);
  const unknown = await cluster.run(['local', 'get', 'widgets']);
  assert.match(unknown.stderr, /unknown kind "widgets"; known: PostgresCluster \(postgresclusters, pgc\)/);
});
