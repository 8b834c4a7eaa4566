// The instance agent's API on real agents: the bearer token on everything but the probes and /metrics, strict
// method / content type / body size, no prototype lookups, demotions only to this cluster's plans; the operator and
// the CLI still drive a switchover through it, also into a primary busy reloading its configuration; a recreated cluster of the same name starts with no timeline history.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, statSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { join } from 'node:path';
import { LocalCluster, stateDir, sample } from '../helpers/cli.js';
import type { PostgresCluster } from '../../crds/postgrescluster.js';
import { setFaults } from '../../adapters/local/faults.js';
import { eventually } from '../helpers/sql.js';

const cluster = new LocalCluster(stateDir('pgop-agent-api-'), 'guarded');
after(() => cluster.down());

const manifest = join(cluster.state, 'guarded.yaml');
writeFileSync(manifest, readFileSync(sample('postgrescluster-ha.yaml'), 'utf8').replace('name: demo', 'name: guarded').replace('instances: 3', 'instances: 2'));
const allReady = (c: PostgresCluster) => c.status?.phase === 'Ready' && (c.status.instances ?? []).length === 2 && (c.status.instances ?? []).every((i) => i.ready);

const agentUrl = (instance: string, path: string) => `http://127.0.0.1:${cluster.instanceSpec(instance).httpPort}${path}`;
const bearer = (token = cluster.agentToken()) => ({ authorization: `Bearer ${token}` });
const post = (instance: string, path: string, body: string, headers: Record<string, string> = {}) =>
  fetch(agentUrl(instance, path), { method: 'POST', headers: { 'content-type': 'application/json', ...bearer(), ...headers }, body });

test('a 2-instance cluster comes up; its agent token is a 0600 file, in no argv or environment', async () => {
  await cluster.ok(['local', 'up', '-f', manifest, '--wait', '--timeout', '240']);
  const tokenFile = join(cluster.state, 'clusters', 'default', 'guarded', 'secrets', 'agent.token');
  assert.equal(statSync(tokenFile).mode & 0o777, 0o600);
  const token = cluster.agentToken();
  assert.ok(token.length >= 40, 'a random token of 32 bytes');
  const pid = readFileSync(join(cluster.state, 'instances', 'default', 'guarded-1', 'agent.pid'), 'utf8').split(' ')[0]?.trim();
  for (const file of ['cmdline', 'environ']) assert.ok(!readFileSync(`/proc/${pid}/${file}`, 'utf8').includes(token), `token in the agent's ${file}`);
  assert.ok(!readFileSync(join(cluster.state, 'instances', 'default', 'guarded-1', 'instance.json'), 'utf8').includes(token), 'the spec names the file, not the token');
});

test('without the token, or with a wrong one, the agent answers 401 and does nothing', async () => {
  for (const headers of [{}, bearer('wrong'), bearer(`${cluster.agentToken()}x`), { authorization: cluster.agentToken() }, { authorization: 'Basic Zm9vOmJhcg==' }]) {
    const status = await fetch(agentUrl('guarded-1', '/status'), { headers });
    assert.equal(status.status, 401, JSON.stringify(headers));
    assert.doesNotMatch(await status.text(), /primary|guarded-1|lsn/i, 'a refusal tells nothing about the instance');
    const fence = await fetch(agentUrl('guarded-1', '/fence'), { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: '{}' });
    assert.equal(fence.status, 401);
  }
  assert.equal((await cluster.agentStatus<{ role: string; fenced: string | null }>('guarded-1')).fenced, null, 'the refused fence did not happen');
  assert.equal((await cluster.get()).status?.currentPrimary, 'guarded-1');
});

test('probes and /metrics stay open and say nothing secret', async () => {
  const healthz = await fetch(agentUrl('guarded-1', '/healthz'));
  assert.equal(healthz.status, 200);
  assert.equal(await healthz.text(), 'ok\n');
  const readyz = await fetch(agentUrl('guarded-1', '/readyz'));
  assert.equal(readyz.status, 200);
  assert.equal(await readyz.text(), 'ready\n');
  const metrics = await (await fetch(agentUrl('guarded-1', '/metrics'))).text();
  assert.match(metrics, /pgop_instance_ready/);
  for (const secret of [cluster.agentToken(), cluster.secret('superuser'), cluster.secret('replication'), cluster.secret('app')]) assert.ok(!metrics.includes(secret));
  assert.equal((await fetch(agentUrl('guarded-1', '/healthz'), { method: 'POST' })).status, 405);
});

test('wrong method, content type or body size, and prototype names, are refused', async () => {
  const get = await fetch(agentUrl('guarded-1', '/promote'), { headers: bearer() });
  assert.equal(get.status, 405);
  assert.equal(get.headers.get('allow'), 'POST');
  assert.equal((await fetch(agentUrl('guarded-1', '/status'), { method: 'POST', headers: bearer() })).status, 405);
  assert.equal((await post('guarded-1', '/fence', '{}', { 'content-type': 'text/plain' })).status, 415);
  assert.equal((await post('guarded-1', '/fence', 'reason=x', { 'content-type': 'application/x-www-form-urlencoded' })).status, 415);
  assert.equal((await post('guarded-1', '/fence', JSON.stringify({ reason: 'x'.repeat(70 * 1024) }))).status, 413);
  // Without a declared length (chunked), the cap holds while reading.
  const chunked = await new Promise<number>((resolve, reject) => {
    const req = request(agentUrl('guarded-1', '/fence'), { method: 'POST', headers: { 'content-type': 'application/json', ...bearer() } }, (res) => { res.resume(); resolve(res.statusCode ?? 0); });
    req.on('error', reject);
    req.write(`{"reason":"${'y'.repeat(40 * 1024)}`);
    req.end(`${'y'.repeat(40 * 1024)}"}`);
  });
  assert.equal(chunked, 413);
  assert.equal((await post('guarded-1', '/fence', '{not json')).status, 400);
  assert.equal((await post('guarded-1', '/fence', JSON.stringify({ reason: 'two\nlines' }))).status, 400);
  for (const name of ['__proto__', 'constructor', 'toString', 'hasOwnProperty', 'valueOf']) {
    assert.equal((await post('guarded-1', `/${name}`, '{}')).status, 404, name);
  }
  assert.equal((await cluster.agentStatus<{ fenced: string | null }>('guarded-1')).fenced, null, 'nothing above fenced the primary');
});

test('a demotion handing the lease to anything but this cluster\'s plan is refused; the primary keeps its lease', async () => {
  for (const handoverTo of ['intruder', 'switchover:default/other', 'failover:elsewhere/guarded', 'guarded-2', 'guarded-9', '', 42]) {
    const r = await post('guarded-1', '/demote', JSON.stringify({ handoverTo }));
    assert.equal(r.status, 400, String(handoverTo));
    assert.match(((await r.json()) as { error: string }).error, /switchover:default\/guarded/);
  }
  assert.equal(await cluster.leaseHolder(), 'guarded-1');
  const s = await cluster.agentStatus<{ role: string; demotedAt: string | null }>('guarded-1');
  assert.deepEqual([s.role, s.demotedAt], ['primary', null]);
});

test('a switchover through the CLI still works: the operator sends the token', async () => {
  const out = await cluster.ok(['local', 'switchover', 'guarded', '--to', 'guarded-2']);
  assert.match(out, /done: guarded-1 → guarded-2 on timeline 2/);
  await cluster.waitFor('the old primary back as a replica', (c) => allReady(c) && c.status?.currentPrimary === 'guarded-2', 90_000);
  assert.match(await cluster.ok(['local', 'kill', 'guarded-1', '--postgres-only', '--signal', 'CONT']), /postgres of guarded-1/, 'the CLI reads /status with the token');
});

test('a switchover reaching the primary while it reloads its configuration waits for the reload, then demotes it', async () => {
  const before = await cluster.get();
  const [primary, replica] = before.status?.currentPrimary === 'guarded-1' ? ['guarded-1', 'guarded-2'] : ['guarded-2', 'guarded-1'];
  const faults = join(cluster.state, 'instances', 'default', primary, 'faults.json');
  // The drill holds the primary's reloads for 8 s; the demotion may wait up to 10 s for one to end.
  setFaults(faults, { reconfigureDelayMs: 8000 });
  try {
    const reload = join(cluster.state, 'guarded-reload.yaml');
    writeFileSync(reload, readFileSync(manifest, 'utf8').replace('shared_buffers: 64MB', 'shared_buffers: 64MB\n      work_mem: 8MB'));
    await cluster.ok(['local', 'apply', '-f', reload]);
    await eventually(() => cluster.agentStatus<{ state: string }>(primary), (s) => s.state.includes('reconfiguring'), 30_000);
    const out = await cluster.ok(['local', 'switchover', 'guarded', '--to', replica]);
    assert.match(out, new RegExp(`done: ${primary} → ${replica} `), 'promoted, not rolled back');
  } finally {
    setFaults(faults, { reconfigureDelayMs: 0 });
  }
  const c = await cluster.waitFor('the old primary back as a replica', (x) => allReady(x) && x.status?.currentPrimary === replica, 90_000);
  assert.deepEqual((c.status?.failovers ?? []).at(-1)?.outcome, 'promoted');
});

test('a recreated cluster of the same name does not see the old timeline history', async () => {
  await cluster.ok(['local', 'delete', 'pgc', 'guarded', '--wait', '--timeout', '120']);
  await cluster.ok(['local', 'up', '-f', manifest, '--wait', '--timeout', '240']);
  const fresh = await cluster.get();
  assert.deepEqual([fresh.status?.currentPrimary, fresh.status?.timeline], ['guarded-1', 1]);
  // The old cluster's timeline 2 history, if it were still around, would make this promotion pick timeline 3.
  const out = await cluster.ok(['local', 'switchover', 'guarded', '--to', 'guarded-2']);
  assert.match(out, /done: guarded-1 → guarded-2 on timeline 2 /);
});
