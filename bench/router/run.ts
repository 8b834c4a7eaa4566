// bench/router: pgbench select-only and tpcb-like at several client counts against PostgreSQL directly, PgBouncer
// (transaction pooling) and `pgop router` (unsharded pass-through). Prints TPS and p99 latency, ratios against
// PgBouncer from the same run, and the router's CPU time per transaction. On a small shared machine pgbench,
// PostgreSQL and the pooler compete for the same cores: measure on a quiet machine (`--smoke` only checks it runs).
import { parseArgs } from 'node:util';
import { mkdtempSync, readdirSync, readFileSync, rmSync, chmodSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execFile } from 'node:child_process';
import pg from 'pg';
import { startScratchPostgres } from '../../tests/integration/router-pg-harness.js';
import { freePort } from '../../tests/integration/router-pg-harness.js';
import { startPgBouncer, startPgopRouter, cpuSeconds, type Target } from './systems.js';
import { percentile } from '../stats.js';
import { postgresUser, handOver } from '../../adapters/os/os-user.js';

const { values } = parseArgs({ options: {
  duration: { type: 'string', default: '30' },
  clients: { type: 'string', default: '1,8,32' },
  scale: { type: 'string', default: '10' },
  pool: { type: 'string', default: '20' },
  workloads: { type: 'string', default: 'select-only,tpcb-like' },
  smoke: { type: 'boolean', default: false },
} });
const smoke = values.smoke;
const duration = smoke ? 3 : Number(values.duration);
const clientCounts = (smoke ? '1,8' : String(values.clients)).split(',').map(Number);
const scale = smoke ? 1 : Number(values.scale);
const poolSize = Number(values.pool);
const workloads = String(values.workloads).split(',') as ('select-only' | 'tpcb-like')[];
/** Statements per transaction, for CPU per statement (tpcb-like: BEGIN, 3 UPDATE, SELECT, INSERT, END). */
const STATEMENTS = { 'select-only': 1, 'tpcb-like': 7 } as const;

interface Result { tps: number; p99ms: number; failed: number; cpuUsPerTx: number | null }

function pgbench(port: number, password: string, args: string[], cwd: string): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile('pgbench', ['-h', '127.0.0.1', '-p', String(port), '-U', 'bench', ...args, 'bench'], { cwd, env: { ...process.env, PGPASSWORD: password }, maxBuffer: 256 * 1024 * 1024 },
      (err, stdout, stderr) => (err ? reject(new Error(`pgbench ${args.join(' ')}: ${stderr.trim().split('\n').slice(-3).join(' | ')}`)) : resolve(stdout)));
  });
}

async function measure(t: Target, password: string, workload: 'select-only' | 'tpcb-like', clients: number): Promise<Result> {
  const dir = mkdtempSync(join(tmpdir(), 'pgop-bench-log-'));
  try {
    const cpu0 = t.pid ? cpuSeconds(t.pid) : 0;
    const out = await pgbench(t.port, password, ['-b', workload, '-M', 'simple', '-c', String(clients), '-j', String(Math.min(clients, 2)), '-T', String(duration),
      '-n', '-l', '--log-prefix', join(dir, 'tx')], dir);
    const cpu1 = t.pid ? cpuSeconds(t.pid) : 0;
    const tps = Number(/tps = ([\d.]+) \(without initial connection time\)/.exec(out)?.[1] ?? NaN);
    const processed = Number(/number of transactions actually processed: (\d+)/.exec(out)?.[1] ?? 0);
    const failed = Number(/number of failed transactions: (\d+)/.exec(out)?.[1] ?? 0);
    const latencies: number[] = [];
    for (const f of readdirSync(dir)) {
      for (const line of readFileSync(join(dir, f), 'utf8').split('\n')) {
        const us = Number(line.split(' ')[2]);
        if (line && Number.isFinite(us)) latencies.push(us / 1000);
      }
    }
    return { tps, p99ms: percentile(latencies, 99), failed, cpuUsPerTx: t.pid && processed ? ((cpu1 - cpu0) * 1e6) / processed : null };
  } finally { rmSync(dir, { recursive: true, force: true }); }
}

async function main(): Promise<void> {
  const server = await startScratchPostgres({ max_connections: '300', shared_buffers: "'256MB'" });
  const dir = mkdtempSync(join(tmpdir(), 'pgop-bench-router-'));
  chmodSync(dir, 0o755);
  handOver(dir, postgresUser());
  const password = 'bench-password';
  const targets: Target[] = [];
  try {
    const admin = new pg.Client({ connectionString: server.uri() });
    await admin.connect();
    await admin.query(`create role bench login password ${pg.escapeLiteral(password)}`);
    await admin.query('create database bench owner bench');
    const verifier = (await admin.query<{ v: string }>("select rolpassword as v from pg_authid where rolname = 'bench'")).rows[0]!.v;
    await admin.end();
    await pgbench(server.port, password, ['-i', '-q', '-s', String(scale)], dir);
    targets.push({ name: 'direct', port: server.port, pid: null, stop: async () => undefined });
    targets.push(await startPgBouncer(dir, server.port, await freePort(), poolSize, 'bench', verifier));
    targets.push(await startPgopRouter(dir, server.port, await freePort(), poolSize, server.password));
    console.log(`# pgbench ${duration} s per run, scale ${scale}, pool ${poolSize} (PgBouncer and router), simple protocol${smoke ? ' — SMOKE RUN: figures are not measurements' : ''}`);
    console.log('| workload | clients | system | TPS | p99 ms | TPS vs PgBouncer | p99 vs PgBouncer | router CPU µs/tx (µs/stmt) | failed |');
    console.log('| --- | --- | --- | --- | --- | --- | --- | --- | --- |');
    // Warm-up: the router's JIT and every pool's connections, so the first measured run is not a cold start.
    for (const t of targets) await pgbench(t.port, password, ['-S', '-c', '8', '-j', '2', '-T', smoke ? '2' : '10', '-n'], dir);
    for (const w of workloads) {
      for (const c of clientCounts) {
        const results = new Map<string, Result>();
        for (const t of targets) results.set(t.name, await measure(t, password, w, c));
        const bouncer = results.get('pgbouncer')!;
        for (const t of targets) {
          const r = results.get(t.name)!;
          const cpu = t.name === 'pgop router' && r.cpuUsPerTx !== null ? `${r.cpuUsPerTx.toFixed(1)} (${(r.cpuUsPerTx / STATEMENTS[w]).toFixed(1)})` : '';
          console.log(`| ${w} | ${c} | ${t.name} | ${r.tps.toFixed(0)} | ${r.p99ms.toFixed(2)} | ${(r.tps / bouncer.tps).toFixed(2)}x | ${(r.p99ms / bouncer.p99ms).toFixed(2)}x | ${cpu} | ${r.failed} |`);
        }
      }
    }
  } finally {
    for (const t of targets) await t.stop();
    await server.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((e: unknown) => { console.error(e); process.exit(1); });
