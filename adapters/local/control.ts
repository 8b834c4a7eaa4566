// What the `pgop local` commands do to the platform: start what is missing (redis, daemon), stop everything.
import { spawn, type ChildProcess } from 'node:child_process';
import { poolerPids } from './poolers.js';
import { openSync, closeSync, rmSync, readdirSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import type { StateDir } from './state-dir.js';
import { startRedis, stopRedis, pingRedis } from './redis-server.js';
import { RedisResourceStore } from './redis-store.js';
import { connectRedis } from '../redis/connection.js';
import { pgopCommand } from './self.js';
import { isAlive, readPid, sleep, terminate } from './processes.js';

/** The Redis key the leading operator writes once it runs (pid, ports); `up --wait` and `status` read it. */
export const DAEMON_READY_KEY = 'pgop:daemon';

/** host:port of a Redis URL: the URL may carry a password, which must not reach an error message. */
function redisEndpoint(url: string): string {
  try { const u = new URL(url); return `${u.hostname}:${u.port || '6379'}`; } catch { return 'an unparsable URL'; }
}

export interface Platform { state: StateDir; store: RedisResourceStore; redisUrl: string }

/** Opens the platform of a state dir; starts its redis-server when needed (`start`), else fails clearly. */
export async function openPlatform(state: StateDir, opts: { start: boolean }): Promise<Platform> {
  let record = state.readPlatform();
  if (!record) {
    if (!opts.start) throw new Error(`no local platform in ${state.root}; start one with \`pgop local up -f FILE\``);
    state.ensure();
    record = { redisUrl: '', dataRoot: state.externalDataRoot(), createdAt: new Date().toISOString() };
  }
  const external = process.env.REDIS_URL;
  let redisUrl = external ?? record.redisUrl;
  if (!redisUrl || !(await pingRedis(redisUrl))) {
    if (external) throw new Error(`REDIS_URL (${redisEndpoint(external)}) does not answer`);
    if (!opts.start) throw new Error(`the local platform in ${state.root} is stopped; start it with \`pgop local up --state-dir ${state.root}\``);
    const started = await startRedis(state);
    redisUrl = started.url;
    record = { ...record, redisUrl, redisPid: started.pid };
    state.writePlatform(record);
  } else if (!state.readPlatform() || record.redisUrl !== redisUrl) {
    state.writePlatform({ ...record, redisUrl });
  }
  return { state, redisUrl, store: new RedisResourceStore(connectRedis(redisUrl, { maxRetriesPerRequest: 3 })) };
}

/** The leading operator's pid, when one is up and ready. */
export async function daemonRunning(p: Platform): Promise<number | undefined> {
  const ready = await p.store.redis.get(DAEMON_READY_KEY);
  const pid = ready ? (JSON.parse(ready) as { pid: number }).pid : undefined;
  return isAlive(pid) ? pid : undefined;
}

export interface DaemonInfo { pid: number; startedAt: string; metricsPort: number; inspectPort?: number }

export async function daemonInfo(p: Platform): Promise<DaemonInfo | undefined> {
  const raw = await p.store.redis.get(DAEMON_READY_KEY);
  return raw ? (JSON.parse(raw) as DaemonInfo) : undefined;
}

export async function ensureDaemon(p: Platform, extraArgs: string[] = []): Promise<number> {
  const running = await daemonRunning(p);
  if (running) return running;
  // A standby operator may be about to take over; give it a lease's time before starting another.
  const standby = operatorPids(p.state).length > 0;
  for (let i = 0; standby && i < 80; i++) {
    await sleep(100);
    const pid = await daemonRunning(p);
    if (pid) return pid;
  }
  const child = spawnDaemon(p.state, p.redisUrl, extraArgs);
  for (let i = 0; i < 300; i++) {
    const pid = await daemonRunning(p);
    if (pid) return pid;
    if (child.exitCode !== null) throw new Error(`the pgop daemon exited with code ${child.exitCode}; see ${p.state.daemonLog}`);
    await sleep(100);
  }
  throw new Error(`the pgop daemon did not become ready within 30 s; see ${p.state.daemonLog}`);
}

/**
 * A detached `pgop local daemon` for the state dir, logging to daemon.log; it waits to lead. Also how a daemon that
 * lost its lease (stalled past it) hands over: nothing else restarts the local operator.
 */
export function spawnDaemon(state: StateDir, redisUrl: string, extraArgs: string[] = []): ChildProcess {
  const log = openSync(state.daemonLog, 'a');
  const { command, args } = pgopCommand(['local', 'daemon', '--state-dir', state.root, ...extraArgs]);
  const child = spawn(command, args, { detached: true, stdio: ['ignore', log, log], cwd: process.cwd(), env: { ...process.env, REDIS_URL: redisUrl } });
  closeSync(log);
  child.unref();
  return child;
}

/** Every agent pid file under the state dir: instances are found even when redis is gone. */
function agentPids(state: StateDir): number[] {
  const root = join(state.root, 'instances');
  if (!existsSync(root)) return [];
  const pids: number[] = [];
  for (const ns of readdirSync(root)) {
    for (const name of readdirSync(join(root, ns))) {
      const pid = readPid(join(root, ns, name, 'agent.pid'));
      if (pid) pids.push(pid);
    }
  }
  return pids;
}

/** Every operator process of the state dir (leader and standbys). */
export function operatorPids(state: StateDir): number[] {
  if (!existsSync(state.daemonsDir)) return [];
  return readdirSync(state.daemonsDir).map((f) => readPid(join(state.daemonsDir, f))).filter((pid): pid is number => isAlive(pid));
}

/** The routers of sharded clusters (adapters/local/routers.ts keeps one pid file each). */
function routerPids(state: StateDir): number[] {
  const root = join(state.root, 'routers');
  if (!existsSync(root)) return [];
  return readdirSync(root).flatMap((ns) => readdirSync(join(root, ns)).map((c) => readPid(join(root, ns, c, 'router.pid'))))
    .filter((pid): pid is number => isAlive(pid));
}

/** Stops the operators first (so nothing gets restarted), then every agent, then redis; optionally purges. */
export async function down(state: StateDir, purge: boolean, report: (line: string) => void): Promise<void> {
  const operators = [...new Set([...operatorPids(state), readPid(state.daemonPidFile)].filter((pid): pid is number => isAlive(pid)))];
  if (operators.length) report(`stopping operator (pid ${operators.join(', ')})`);
  await Promise.all(operators.map((pid) => terminate(pid, 20_000, false)));
  const agents = agentPids(state).filter((pid) => isAlive(pid));
  if (agents.length) report(`stopping ${agents.length} instance${agents.length === 1 ? '' : 's'}`);
  await Promise.all(agents.map((pid) => terminate(pid, 40_000)));
  const poolers = poolerPids(state);
  if (poolers.length) report(`stopping ${poolers.length} pgbouncer process${poolers.length === 1 ? '' : 'es'}`);
  await Promise.all(poolers.map((pid) => terminate(pid, 5000, false)));
  const routers = routerPids(state);
  if (routers.length) report(`stopping ${routers.length} router${routers.length === 1 ? '' : 's'}`);
  await Promise.all(routers.map((pid) => terminate(pid, 5000, false)));
  const record = state.readPlatform();
  if (record?.redisPid && isAlive(record.redisPid)) { report('stopping redis'); await stopRedis(record.redisPid); }
  if (purge) {
    rmSync(state.root, { recursive: true, force: true });
    if (record?.dataRoot) rmSync(record.dataRoot, { recursive: true, force: true });
    report(`removed ${state.root}`);
  }
}
