// A rolling update with a fenced replica (issue #11, ADR 0028 + 0026): the fenced instance is neither restarted
// nor waited for; the others roll (the primary last), RolloutBlocked names the fenced one and the fix; lifted, the
// fence lets it come back and it ends on the new setting too.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { LocalCluster, stateDir } from '../helpers/cli.js';
import { query, eventually } from '../helpers/sql.js';
import type { PostgresCluster } from '../../crds/postgrescluster.js';

const cluster = new LocalCluster(stateDir('pgop-rollfence-'));
after(() => cluster.down());

const condition = (c: PostgresCluster, type: string) => (c.status?.conditions as Array<{ type: string; status: string; reason: string; message: string }> | undefined)?.find((x) => x.type === type);
const superuser = (instance: string) => `postgresql://postgres:${encodeURIComponent(cluster.secret('superuser'))}@127.0.0.1:${cluster.instanceSpec(instance).port}/postgres?${cluster.tlsQuery()}`;
const show = async (instance: string) => (await query<{ v: string }>(superuser(instance), "SELECT current_setting('max_connections') AS v"))[0]?.v;
const allReady = (c: PostgresCluster) => c.status?.phase === 'Ready' && (c.status.instances ?? []).length === 3 && (c.status.instances ?? []).every((i) => i.ready)
  && (c.status.pendingRestart ?? []).length === 0;

/** `local apply` sets the manifest's annotations: a fenced cluster's manifest must keep the fence annotation. */
function manifest(maxConnections: string, fenced?: string): string {
  const file = join(cluster.state, `demo-${maxConnections}.yaml`);
  writeFileSync(file, ['apiVersion: postgres.keiailab.io/v1alpha1', 'kind: PostgresCluster', 'metadata:', '  name: demo',
    ...(fenced ? ['  annotations:', `    postgres.keiailab.io/fenced-instances: '["${fenced}"]'`] : []), 'spec:',
    '  instances: 3', '  postgresVersion: 15', '  postgresql:', '    parameters:', `      max_connections: "${maxConnections}"`, ''].join('\n'));
  return file;
}

test('a 3-instance cluster comes up', async () => {
  await cluster.ok(['local', 'up', '-f', manifest('100'), '--wait', '--timeout', '240'], 300_000);
  await cluster.waitFor('Ready', allReady, 120_000);
});

// RolloutBlocked (naming the fenced instance and the fix) is proven by the machine tests only: on the local platform a
// fenced instance's agent is stopped, its last report carries no configuration generation, and the condition does
// not appear (a known gap, noted on issue #11).
test('with demo-3 fenced, a restart-needing change rolls demo-1 and demo-2 around it', async () => {
  assert.match(await cluster.ok(['local', 'fence', 'demo', 'demo-3', '--wait']), /fenced instances of demo: demo-3/);
  await cluster.waitFor('demo-3 fenced', (x) => condition(x, 'Fenced')?.status === 'True', 60_000);
  await cluster.ok(['local', 'apply', '-f', manifest('120', 'demo-3')]);
  for (const n of ['demo-1', 'demo-2']) await eventually(() => show(n), (v) => v === '120', 240_000);
  const rolled = await cluster.waitFor('the unfenced instances rolled and serving', (x) => (x.status?.instances ?? [])
    .filter((i) => i.name !== 'demo-3').every((i) => i.ready && !i.pendingRestart), 120_000);
  assert.equal(condition(rolled, 'Fenced')?.status, 'True');
});

test('unfenced, demo-3 comes back on the new setting and the condition goes', async () => {
  await cluster.ok(['local', 'unfence', 'demo', 'demo-3']);
  const c = await cluster.waitFor('every instance ready, nothing pending, nothing blocked', (x) => allReady(x) && !condition(x, 'RolloutBlocked'), 240_000);
  assert.equal(c.status?.phase, 'Ready');
  assert.equal(await show('demo-3'), '120');
});
