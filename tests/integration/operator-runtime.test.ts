// The operator runtime on real processes: metrics on the operator and the agents, the inspector relay receiving
// actor events without secrets, a clone job surviving an operator crash without a second pg_basebackup, and a
// standby operator taking over when the leader is SIGKILLed, and a leader stalled past its lease handing over to a
// successor it starts.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { spawn } from 'node:child_process';
import WebSocket from 'ws';
import { LocalCluster, stateDir, sample, pgop, pgopBin } from '../helpers/cli.js';
import { query, eventually } from '../helpers/sql.js';
import { freePort } from '../../adapters/local/ports.js';
import { isAlive } from '../../adapters/local/processes.js';
import { connectRedis } from '../../adapters/redis/connection.js';

const cluster = new LocalCluster(stateDir('pgop-runtime-'), 'single');
after(() => cluster.down());
const env = { PGOP_CLONE_MAX_RATE: '1M' };
let inspectPort = 0;

async function daemonInfo(): Promise<{ pid: number; metricsPort: number; inspectPort?: number }> {
  const { redisUrl } = JSON.parse(readFileSync(join(cluster.state, 'platform.json'), 'utf8')) as { redisUrl: string };
  const r = connectRedis(redisUrl);
  try { return JSON.parse((await r.get('pgop:daemon')) ?? '{}') as { pid: number; metricsPort: number; inspectPort?: number }; } finally { r.disconnect(); }
}

test('up --inspect streams every actor to the inspector relay, with secrets scrubbed', async () => {
  inspectPort = await freePort();
  const messages: string[] = [];
  const up = await pgop(['local', 'up', '-f', sample('postgrescluster-minimal.yaml'), '--wait', '--inspect', String(inspectPort), '--state-dir', cluster.state], env);
  assert.equal(up.code, 0, up.stderr);
  assert.match(up.stdout, new RegExp(`inspector: open http://127\\.0\\.0\\.1:${inspectPort}`));
  const page = await fetch(`http://127.0.0.1:${inspectPort}/`).then((r) => r.text());
  assert.match(page, /stately\.ai\/inspect/);
  const ws = new WebSocket(`ws://127.0.0.1:${inspectPort}`);
  ws.on('message', (d) => messages.push(d.toString()));
  await new Promise((r) => ws.once('open', r));
  const parse = () => messages.map((m) => JSON.parse(m) as { type: string; name?: string; definition?: string });
  const registered = (id: string) => parse().some((m) => m.type === '@xstate.actor' && (m.definition ?? '').includes(`"id":"${id}"`));
  // The relay replays what a late browser needs at once; the wait only covers the socket's delivery.
  await eventually(async () => registered('cluster') && registered('instance'), (both) => both, 10_000).catch(() => undefined);
  ws.close();
  const parsed = parse();
  assert.ok(parsed.some((m) => m.type === '@xstate.actor' && (m.definition ?? '').includes('"id":"cluster"')), 'the cluster actor with its definition');
  assert.ok(parsed.some((m) => m.type === '@xstate.actor' && (m.definition ?? '').includes('"id":"instance"')), 'its instance child');
  assert.ok(parsed.some((m) => m.type === '@xstate.snapshot'));
  for (const secret of ['superuser', 'replication', 'app']) {
    const value = readFileSync(join(cluster.state, 'clusters', 'default', 'single', 'secrets', `${secret}.password`), 'utf8').trim();
    assert.ok(!messages.some((m) => m.includes(value)), `${secret} password leaked to the inspector`);
  }
});

test('/metrics on the operator and on an agent carry the named series', async () => {
  const info = await daemonInfo();
  const operator = await fetch(`http://127.0.0.1:${info.metricsPort}/metrics`).then((r) => r.text());
  for (const name of ['pgop_machine_transitions_total', 'pgop_failovers_total', 'pgop_failover_duration_seconds', 'pgop_switchover_duration_seconds',
    'pgop_queue_jobs_total', 'pgop_queue_job_duration_seconds', 'pgop_reconcile_errors_total', 'pgop_actors']) {
    assert.match(operator, new RegExp(`# TYPE ${name} `), name);
  }
  assert.match(operator, /pgop_machine_transitions_total\{machine="cluster",from="[^"]+",to="ready"\} \d+/);
  assert.match(operator, /pgop_machine_transitions_total\{machine="instance",from="[^"]+",to="running"\} \d+/);
  const spec = JSON.parse(readFileSync(join(cluster.state, 'instances', 'default', 'single-1', 'instance.json'), 'utf8')) as { httpPort: number };
  // The first renewal comes a renew interval after the lease was taken, which may be after `up --wait` returned.
  const agent = await eventually(() => fetch(`http://127.0.0.1:${spec.httpPort}/metrics`).then((r) => r.text()),
    (text) => /pgop_instance_lease_renewals_total\{result="ok"[^}]*\} [1-9]/.test(text), 15_000).catch(() => fetch(`http://127.0.0.1:${spec.httpPort}/metrics`).then((r) => r.text()));
  assert.match(agent, /pgop_instance_role\{role="primary"[^}]*\} 1/);
  for (const name of ['pgop_instance_lag_bytes', 'pgop_instance_lease_renewals_total', 'pgop_instance_fencing_events_total', 'pgop_instance_ready']) assert.match(agent, new RegExp(`# TYPE ${name} `), name);
  assert.match(agent, /pgop_instance_lease_renewals_total\{result="ok"[^}]*\} [1-9]/);
});

test('a clone job survives an operator crash without a second pg_basebackup', async () => {
  const rw = await cluster.uri('primary');
  await query(rw, 'CREATE TABLE bulk AS SELECT g AS id, repeat(md5(g::text), 8) AS pad FROM generate_series(1, 60000) g');
  const file = join(cluster.state, 'two.yaml');
  writeFileSync(file, readFileSync(sample('postgrescluster-minimal.yaml'), 'utf8').replace('instances: 1', 'instances: 2'));
  await cluster.ok(['local', 'apply', '-f', file]);
  await cluster.waitFor('the clone in progress', (c) => (c.status?.instances ?? []).some((i) => i.name === 'single-2' && i.phase === 'cloning' && /pg_basebackup \d+%/.test(i.progress ?? '')), 60_000);
  const before = await daemonInfo();
  await cluster.ok(['local', 'kill', 'operator']);
  await eventually(async () => isAlive(before.pid), (alive) => !alive, 10_000);
  const restarted = await pgop(['local', 'up', '--state-dir', cluster.state], env);
  assert.equal(restarted.code, 0, restarted.stderr);
  const done = await cluster.waitFor('the second instance streaming', (c) => c.status?.phase === 'Ready' && (c.status.readyInstances ?? 0) === 2, 180_000);
  assert.equal(done.status?.instances?.find((i) => i.name === 'single-2')?.role, 'replica');
  const log = readFileSync(join(cluster.state, 'instances', 'default', 'single-2', 'agent.log'), 'utf8');
  const starts = log.split('\n').filter((l) => l.includes('"step":"pg_basebackup","percent":0'));
  assert.equal(starts.length, 1, 'pg_basebackup ran exactly once');
  const [row] = await query<{ n: string }>(`postgresql://app:${encodeURIComponent(cluster.secret('app'))}@127.0.0.1:${cluster.instanceSpec('single-2').port}/app?${cluster.tlsQuery()}`, 'SELECT count(*) AS n FROM bulk');
  assert.equal(row?.n, '60000');
});

test('a standby operator takes over within the lease time when the leader is SIGKILLed', async () => {
  const leader = await daemonInfo();
  const standby = spawn(process.execPath, [pgopBin, 'operator', '--state-dir', cluster.state], { detached: true, stdio: 'ignore', env: { ...process.env, ...env } });
  standby.unref();
  await new Promise((r) => setTimeout(r, 1500));
  assert.equal((await daemonInfo()).pid, leader.pid, 'the standby waits while the leader lives');
  await cluster.ok(['local', 'kill', 'operator']);
  const next = await eventually(daemonInfo, (i) => i.pid === standby.pid && isAlive(i.pid), 15_000);
  assert.equal(next.pid, standby.pid);
  // The new leader drives the restored actors: losing the replica's pod makes it Degraded, then Ready again.
  await cluster.ok(['local', 'kill', 'single-2']);
  await cluster.waitFor('Degraded', (c) => c.status?.phase === 'Degraded', 30_000);
  await cluster.waitFor('Ready again', (c) => c.status?.phase === 'Ready' && c.status.readyInstances === 2, 90_000);
});

test('a leader stalled past its lease steps down and the successor it starts leads (nothing else restarts a local operator)', async () => {
  const leader = await daemonInfo();
  // Frozen longer than the 5 s lease: the key lapses with no standby to take it; thawed, the leader finds it gone.
  process.kill(leader.pid, 'SIGSTOP');
  await new Promise((r) => setTimeout(r, 7000));
  process.kill(leader.pid, 'SIGCONT');
  const next = await eventually(daemonInfo, (i) => !!i.pid && i.pid !== leader.pid && isAlive(i.pid), 30_000);
  await eventually(async () => isAlive(leader.pid), (alive) => !alive, 10_000);
  // The successor is a `pgop local daemon` the stalled leader spawned (the test started none): it logs to daemon.log.
  assert.match(readFileSync(join(cluster.state, 'daemon.log'), 'utf8'), new RegExp(`"identity":"[^"]*-${next.pid}","msg":"leading"`));
  // The successor drives the cluster: a lost replica pod is noticed and brought back.
  await cluster.ok(['local', 'kill', 'single-2']);
  await cluster.waitFor('Degraded', (c) => c.status?.phase === 'Degraded', 30_000);
  await cluster.waitFor('Ready again', (c) => c.status?.phase === 'Ready' && c.status.readyInstances === 2, 90_000);
  assert.ok(isAlive(next.pid));
});
