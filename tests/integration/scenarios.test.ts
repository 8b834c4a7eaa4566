// The replayable failover scenarios, run through `pgop local scenario run` on real processes.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { LocalCluster, repoRoot, stateDir } from '../helpers/cli.js';

const dir = join(repoRoot, 'tests', 'scenarios');
const clusters: LocalCluster[] = [];
after(async () => { for (const c of clusters) await c.down(); });

for (const file of readdirSync(dir).filter((f) => f.endsWith('.yaml')).sort()) {
  test(`scenario ${file} passes every step`, async () => {
    const cluster = new LocalCluster(stateDir('pgop-scn-'));
    clusters.push(cluster);
    const r = await cluster.run(['local', 'scenario', 'run', join(dir, file)], 600_000);
    assert.equal(r.code, 0, `${r.stdout}\n${r.stderr}`);
    assert.match(r.stdout, /^PASS: \d+ steps$/m);
    assert.doesNotMatch(r.stdout, /✖/);
    await cluster.down();
  });
}

test('a failing expectation fails the run and names the step', async () => {
  const cluster = new LocalCluster(stateDir('pgop-scn-'));
  clusters.push(cluster);
  const file = join(cluster.state, 'wrong.yaml');
  const { writeFileSync } = await import('node:fs');
  writeFileSync(file, [
    'name: wrong expectation', 'cluster: single', 'steps:',
    `  - up: { file: ${join(repoRoot, 'crds', 'samples', 'postgrescluster-minimal.yaml')} }`,
    '  - expect: { failovers: 1 }', '  - sleep: 1', '',
  ].join('\n'));
  const r = await cluster.run(['local', 'scenario', 'run', file], 300_000);
  assert.equal(r.code, 1);
  assert.match(r.stdout, /✖ 2\. expect \{"failovers":1\} \(\d+ ms\): 0 failovers recorded, expected 1/);
  assert.match(r.stdout, /- 3\. sleep 1: not run/);
  assert.match(r.stdout, /FAIL: 1 step\(s\) failed/);
});
