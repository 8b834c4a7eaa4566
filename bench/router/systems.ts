// The three ways pgbench reaches PostgreSQL in this benchmark: directly, through PgBouncer (Debian's, transaction
// pooling) and through `pgop router` (unsharded pass-through), the last two with the same pool size.
import { spawn, type ChildProcess } from 'node:child_process';
import { writeFileSync, readFileSync, chmodSync } from 'node:fs';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { connect } from 'node:net';
import { postgresUser, handOver } from '../../adapters/os/os-user.js';

export interface Target { name: string; port: number; pid: number | null; stop(): Promise<void> }

const pgopBin = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'bin', 'pgop.js');
/** Extra node flags for the routers (run.ts --profile adds --cpu-prof: a profile per router, written when it stops). */
export const routerNodeArgs: string[] = [];

/**
 * Waits up to a minute: on a shared 2-core machine at load 30 the router's start (module loading) alone took over
 * 10 s. A child that never listens is killed, so a failed run leaves no router behind.
 */
async function waitForPort(port: number, child: ChildProcess, what: string): Promise<void> {
  const deadline = Date.now() + 60_000;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`${what} exited with ${child.exitCode}`);
    const ok = await new Promise<boolean>((res) => {
      const s = connect(port, '127.0.0.1');
      s.once('connect', () => { s.destroy(); res(true); });
      s.once('error', () => res(false));
    });
    if (ok) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  child.kill('SIGKILL');
  throw new Error(`${what} did not listen on ${port} within 60 s`);
}

function stopChild(child: ChildProcess): Promise<void> {
  return new Promise((resolve) => {
    if (child.exitCode !== null) { resolve(); return; }
    child.once('exit', () => resolve());
    child.kill('SIGTERM');
  });
}

export async function startPgBouncer(dir: string, backendPort: number, port: number, poolSize: number, role: string, verifier: string): Promise<Target> {
  const user = postgresUser();
  const ini = join(dir, 'pgbouncer.ini');
  const users = join(dir, 'userlist.txt');
  writeFileSync(users, `"${role}" "${verifier}"\n`, { mode: 0o600 });
  writeFileSync(ini, [
    '[databases]', `* = host=127.0.0.1 port=${backendPort}`, '[pgbouncer]', 'listen_addr = 127.0.0.1', `listen_port = ${port}`,
    `unix_socket_dir = ${dir}`, 'auth_type = scram-sha-256', `auth_file = ${users}`, 'pool_mode = transaction',
    `default_pool_size = ${poolSize}`, 'max_client_conn = 1000', 'ignore_startup_parameters = extra_float_digits',
    'log_connections = 0', 'log_disconnections = 0', 'log_pooler_errors = 1', `logfile = ${join(dir, 'pgbouncer.log')}`, '',
  ].join('\n'));
  for (const f of [ini, users]) { chmodSync(f, 0o600); handOver(f, user); }
  const child = spawn('pgbouncer', [ini], { stdio: ['ignore', 'ignore', 'inherit'], ...(user ? { uid: user.uid, gid: user.gid } : {}) });
  await waitForPort(port, child, 'pgbouncer');
  return { name: 'pgbouncer', port, pid: child.pid ?? null, stop: () => stopChild(child) };
}

/** The router over shards: a JSON config naming each shard and the sharded tables, as the operator writes it. */
export async function startShardedRouter(dir: string, shards: { name: string; port: number }[], tables: Record<string, { column: string; type: 'integer' }>,
  port: number, poolSize: number, authPassword: string): Promise<Target> {
  const config = join(dir, 'router-sharded.json');
  writeFileSync(config, JSON.stringify({
    listen: { host: '127.0.0.1', port }, auth: { user: 'pgop_router', password: authPassword, database: 'postgres' }, pool: { size: poolSize },
    sharding: { generation: 1, shards: shards.map((s) => ({ name: s.name, host: '127.0.0.1', port: s.port })), tables },
  }), { mode: 0o600 });
  const child = spawn(process.execPath, [...routerNodeArgs, pgopBin, 'router', '--config', config], { stdio: ['ignore', 'ignore', 'inherit'], env: { ...process.env, PGOP_LOG_LEVEL: 'warn' } });
  await waitForPort(port, child, 'pgop router (2 shards)');
  return { name: 'pgop router, 2 shards', port, pid: child.pid ?? null, stop: () => stopChild(child) };
}

export async function startPgopRouter(dir: string, backendPort: number, port: number, poolSize: number, authPassword: string): Promise<Target> {
  const pw = join(dir, 'router-auth-password');
  writeFileSync(pw, authPassword, { mode: 0o600 });
  const child = spawn(process.execPath, [...routerNodeArgs, pgopBin, 'router', '--listen', `127.0.0.1:${port}`, '--backend', `127.0.0.1:${backendPort}`,
    '--auth-password-file', pw, '--pool-size', String(poolSize)], { stdio: ['ignore', 'ignore', 'inherit'], env: { ...process.env, PGOP_LOG_LEVEL: 'warn' } });
  await waitForPort(port, child, 'pgop router');
  return { name: 'pgop router', port, pid: child.pid ?? null, stop: () => stopChild(child) };
}

/** The Node relay baseline (node-relay.ts): what Node's socket I/O alone costs per statement. */
export async function startNodeRelay(backendPort: number, port: number): Promise<Target> {
  const child = spawn(process.execPath, [join(dirname(fileURLToPath(import.meta.url)), 'node-relay.js'), String(port), String(backendPort)], { stdio: ['ignore', 'ignore', 'inherit'] });
  await waitForPort(port, child, 'node relay');
  return { name: 'node relay (floor)', port, pid: child.pid ?? null, stop: () => stopChild(child) };
}

/** CPU seconds a process has used so far, from /proc/<pid>/stat: user time is the router's own code (JS, libuv), system time its syscalls (socket reads and writes). */
export function cpuTimes(pid: number): { user: number; system: number } {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return { user: Number(fields[11]) / 100, system: Number(fields[12]) / 100 };
}
