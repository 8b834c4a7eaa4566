// bench/router: pgbench against PostgreSQL directly, PgBouncer (transaction pooling) and `pgop router`, in one run.
//  - unsharded: select-only and tpcb-like (simple protocol) through the router as a pass-through pooler;
//  - sharded: a keyed point read (`-M extended`; Debian's PgBouncer 1.18 cannot keep named prepared statements
//    in transaction pooling) through the router over 2 shards (fast path), against the same
//    script on one PostgreSQL directly and through PgBouncer.
// Each (workload, clients) cell runs every system `--rounds` times in rotating order and reports the median, so a
// burst of load from elsewhere lands on all systems alike. Prints TPS and p99 latency, ratios against PgBouncer
// from the same run, and the router's CPU per transaction. `--smoke` only checks that it runs.
import { parseArgs } from 'node:util';
import { mkdtempSync, readdirSync, readFileSync, rmSync, chmodSync, writeFileSync } from 'node:fs';
import { tmpdir, loadavg } from 'node:os';
import { join } from 'node:path';
import { execFile } from 'node:child_process';
import pg from 'pg';
import { startScratchPostgres, freePort, routerLookupRole, type ScratchPostgres } from '../../tests/integration/router-pg-harness.js';
import { startPgBouncer, startPgopRouter, startShardedRouter, startNodeRelay, cpuTimes, routerNodeArgs, type Target } from './systems.js';
import { percentile } from '../stats.js';
import { postgresUser, handOver } from '../../adapters/os/os-user.js';

const { values } = parseArgs({ options: {
  duration: { type: 'string', default: '20' },
  clients: { type: 'string', default: '1,8,32' },
  scale: { type: 'string', default: '10' },
  pool: { type: 'string', default: '20' },
  rounds: { type: 'string', default: '3' },
  workloads: { type: 'string', default: 'select-only,tpcb-like,keyed-extended' },
  smoke: { type: 'boolean', default: false },
  /** Adds node-relay.ts, a byte relay with no pooling: the CPU Node's own socket I/O costs per statement. */
  floor: { type: 'boolean', default: false },
  /** A directory for V8 CPU profiles of the routers (node --cpu-prof); the CPU figures then include the profiler's cost. */
  profile: { type: 'string' },
} });
if (values.profile) routerNodeArgs.push('--cpu-prof', `--cpu-prof-dir=${values.profile}`);
const smoke = values.smoke;
const duration = smoke ? 3 : Number(values.duration);
const clientCounts = (smoke ? '1,8' : String(values.clients)).split(',').map(Number);
const scale = smoke ? 1 : Number(values.scale);
const poolSize = Number(values.pool);
const rounds = smoke ? 1 : Number(values.rounds);
type Workload = 'select-only' | 'tpcb-like' | 'keyed-extended';
const workloads = String(values.workloads).split(',') as Workload[];
/** Statements per transaction, for CPU per statement (tpcb-like: BEGIN, 3 UPDATE, SELECT, INSERT, END). */
const STATEMENTS: Record<Workload, number> = { 'select-only': 1, 'tpcb-like': 7, 'keyed-extended': 1 };
const KEYED_SCRIPT = '\\set aid random(1, 100000 * :scale)\nSELECT abalance FROM pgbench_accounts WHERE aid = :aid;\n';

interface Result { tps: number; p99ms: number; failed: number; cpuUsPerTx: number | null; sysUsPerTx: number | null }

function pgbench(port: number, password: string, args: string[], cwd: string): Promise<string> {
  return new Promise((resolve, reject) => {
    // A run that outlives its -T by a minute is hung (a router bug would look like that): it fails instead of waiting.
    execFile('pgbench', ['-h', '127.0.0.1', '-p', String(port), '-U', 'bench', ...args, 'bench'], { cwd, env: { ...process.env, PGPASSWORD: password }, maxBuffer: 256 * 1024 * 1024,
      timeout: (Math.max(duration, 10) + 60) * 1000 },
      (err, stdout, stderr) => (err ? reject(new Error(`pgbench ${args.join(' ')}: ${stderr.trim().split('\n').slice(-3).join(' | ')}`)) : resolve(stdout)));
  });
}

function workloadArgs(w: Workload, dir: string): string[] {
  if (w !== 'keyed-extended') return ['-b', w, '-M', 'simple'];
  const script = join(dir, 'keyed.sql');
  writeFileSync(script, KEYED_SCRIPT);
  return ['-f', script, '-M', 'extended', '-D', `scale=${scale}`];
}

async function measure(t: Target, password: string, w: Workload, clients: number): Promise<Result> {
  const dir = mkdtempSync(join(tmpdir(), 'pgop-bench-log-'));
  try {
    const cpu0 = t.pid ? cpuTimes(t.pid) : { user: 0, system: 0 };
    const out = await pgbench(t.port, password, [...workloadArgs(w, dir), '-c', String(clients), '-j', String(Math.min(clients, 2)), '-T', String(duration),
      '-n', '-l', '--log-prefix', join(dir, 'tx')], dir);
    const cpu1 = t.pid ? cpuTimes(t.pid) : { user: 0, system: 0 };
    const tps = Number(/tps = ([\d.]+) \(without initial connection time\)/.exec(out)?.[1] ?? NaN);
    const processed = Number(/number of transactions actually processed: (\d+)/.exec(out)?.[1] ?? 0);
    const failed = Number(/number of failed transactions: (\d+)/.exec(out)?.[1] ?? 0);
    const latencies: number[] = [];
    for (const f of readdirSync(dir)) {
      if (!f.startsWith('tx')) continue;
      for (const line of readFileSync(join(dir, f), 'utf8').split('\n')) {
        const us = Number(line.split(' ')[2]);
        if (line && Number.isFinite(us)) latencies.push(us / 1000);
      }
    }
    const perTx = (s: number) => (t.pid && processed ? (s * 1e6) / processed : null);
    return { tps, p99ms: percentile(latencies, 99), failed, cpuUsPerTx: perTx(cpu1.user + cpu1.system - cpu0.user - cpu0.system), sysUsPerTx: perTx(cpu1.system - cpu0.system) };
  } finally { rmSync(dir, { recursive: true, force: true }); }
}

const median = (xs: number[]) => percentile(xs, 50);

/** A role `bench` owning database `bench` with pgbench's tables; returns its SCRAM verifier (the same on every server). */
async function prepareBench(server: ScratchPostgres, password: string, verifier: string | null, dir: string): Promise<string> {
  const admin = new pg.Client({ connectionString: server.uri() });
  await admin.connect();
  await admin.query(`create role bench login password ${pg.escapeLiteral(verifier ?? password)}`);
  await admin.query('create database bench owner bench');
  const v = (await admin.query<{ v: string }>("select rolpassword as v from pg_authid where rolname = 'bench'")).rows[0]!.v;
  await admin.end();
  await pgbench(server.port, password, ['-i', '-q', '-s', String(scale)], dir);
  return v;
}

/** Keeps on a shard only the accounts whose keyspace id it owns (shard -80: the hash's top bit is 0). */
async function keepOwnRows(server: ScratchPostgres, password: string, low: boolean): Promise<void> {
  const c = new pg.Client({ connectionString: server.uri('bench', 'bench', password) });
  await c.connect();
  await c.query(`delete from pgbench_accounts where hashint8extended(aid::bigint, 0) ${low ? '<' : '>='} 0`);
  await c.query('vacuum analyze pgbench_accounts');
  await c.end();
}

async function main(): Promise<void> {
  const settings = { max_connections: '300', shared_buffers: "'256MB'" };
  const server = await startScratchPostgres(settings);
  const sharded = workloads.includes('keyed-extended');
  const shards = sharded ? await Promise.all([startScratchPostgres(settings), startScratchPostgres(settings)]) : [];
  const dir = mkdtempSync(join(tmpdir(), 'pgop-bench-router-'));
  chmodSync(dir, 0o755);
  handOver(dir, postgresUser());
  const password = 'bench-password';
  const single: Target[] = [];
  let shardedRouter: Target | null = null;
  try {
    const verifier = await prepareBench(server, password, null, dir);
    for (const [i, s] of shards.entries()) { await prepareBench(s, password, verifier, dir); await keepOwnRows(s, password, i === 0); }
    single.push({ name: 'direct', port: server.port, pid: null, stop: async () => undefined });
    single.push(await startPgBouncer(dir, server.port, await freePort(), poolSize, 'bench', verifier));
    single.push(await startPgopRouter(dir, server.port, await freePort(), poolSize, (await routerLookupRole(server)).password));
    if (values.floor) single.push(await startNodeRelay(server.port, await freePort()));
    if (sharded) {
      shardedRouter = await startShardedRouter(dir, [{ name: '-80', port: shards[0]!.port }, { name: '80-', port: shards[1]!.port }],
        { pgbench_accounts: { column: 'aid', type: 'integer' } }, await freePort(), poolSize, (await routerLookupRole(shards[0]!)).password);
    }
    console.log(`# pgbench ${duration} s per run, median of ${rounds} rotating rounds, scale ${scale}, pool ${poolSize} (PgBouncer and router); load average at start ${loadavg()[0]!.toFixed(1)} on ${(await import('node:os')).cpus().length} cores${smoke ? ' — SMOKE RUN: figures are not measurements' : ''}`);
    console.log('| workload | clients | system | TPS | p99 ms | TPS vs PgBouncer | p99 vs PgBouncer | proxy CPU µs/tx (µs/stmt) | of which system µs/tx | failed |');
    console.log('| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |');
    const everyone = [...single, ...(shardedRouter ? [shardedRouter] : [])];
    // Warm-up: the router's JIT and every pool's connections, so the first measured run is not a cold start.
    for (const t of everyone) await pgbench(t.port, password, ['-S', '-c', '8', '-j', '2', '-T', smoke ? '2' : '10', '-n'], dir).catch(() => undefined);
    if (shardedRouter) await pgbench(shardedRouter.port, password, [...workloadArgs('keyed-extended', dir), '-c', '8', '-j', '2', '-T', smoke ? '2' : '10', '-n'], dir);
    for (const w of workloads) {
      const targets = w === 'keyed-extended' ? [...single.filter((t) => t.name === 'direct' || t.name === 'pgbouncer'), shardedRouter!] : single;
      for (const c of clientCounts) {
        const runs = new Map<string, Result[]>(targets.map((t) => [t.name, []]));
        for (let r = 0; r < rounds; r++) {
          for (let k = 0; k < targets.length; k++) {
            const t = targets[(k + r) % targets.length]!;
            runs.get(t.name)!.push(await measure(t, password, w, c));
          }
        }
        const summary = (name: string): Result => {
          const rs = runs.get(name)!;
          const cpu = rs.map((x) => x.cpuUsPerTx).filter((x): x is number => x !== null);
          const sys = rs.map((x) => x.sysUsPerTx).filter((x): x is number => x !== null);
          return { tps: median(rs.map((x) => x.tps)), p99ms: median(rs.map((x) => x.p99ms)), failed: rs.reduce((a, x) => a + x.failed, 0),
            cpuUsPerTx: cpu.length ? median(cpu) : null, sysUsPerTx: sys.length ? median(sys) : null };
        };
        const bouncer = summary('pgbouncer');
        for (const t of targets) {
          const r = summary(t.name);
          // Every proxy has a pid (its CPU is read from /proc); direct connections have none and no CPU column.
          const cpu = r.cpuUsPerTx !== null ? `${r.cpuUsPerTx.toFixed(1)} (${(r.cpuUsPerTx / STATEMENTS[w]).toFixed(1)})` : '';
          const sys = r.sysUsPerTx !== null ? r.sysUsPerTx.toFixed(1) : '';
          console.log(`| ${w} | ${c} | ${t.name} | ${r.tps.toFixed(0)} | ${r.p99ms.toFixed(2)} | ${(r.tps / bouncer.tps).toFixed(2)}x | ${(r.p99ms / bouncer.p99ms).toFixed(2)}x | ${cpu} | ${sys} | ${r.failed} |`);
        }
      }
    }
  } finally {
    for (const t of [...single, ...(shardedRouter ? [shardedRouter] : [])]) await t.stop();
    await Promise.all([server, ...shards].map((s) => s.stop()));
    rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((e: unknown) => { console.error(e); process.exit(1); });
