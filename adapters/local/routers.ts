// The local stand-in for a cluster's router Deployment: one `pgop router` process per sharded cluster (or unsharded
// one with spec.router.enabled), detached like the agents, configured by a JSON file the operator writes
// (router/config.ts is the interface). A changed config (a new ShardRange version, a moved shard) means a restart:
// the file is replaced atomically, the old process is stopped, a new one started on the same port.
import { spawn } from 'node:child_process';
import { mkdirSync, openSync, closeSync, rmSync, existsSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { StateDir } from './state-dir.js';
import { freePort } from './ports.js';
import { readPid, writePid, removePid, terminate, isAlive } from './processes.js';
import { pgopCommand } from './self.js';
import { writeFileAtomicIfChanged } from '../os/atomic-file.js';
import type { Logger } from '../logging/logger.js';

/** What the operator puts in the file, besides listen (the port is the router's own, kept across restarts). */
export interface RouterFileConfig {
  auth: { user: string; password: string; database: string };
  tls: { certFile: string; keyFile: string; require: boolean };
  pool: { size: number };
  /** A sharded cluster's routing table (the router's `sharding` section)... */
  sharding?: unknown;
  /** ...or an unsharded cluster's single backend (its -rw endpoint, or its -ro endpoint with readOnly, ADR 0043). */
  backend?: { host: string; port: number; tls: { caFile: string; servername: string }; readOnly?: boolean };
}

/**
 * The directory key of an unsharded cluster's read-only router (spec.router.readOnly), beside the read-write one:
 * a dot never occurs in a cluster name, so it cannot collide with another cluster's router.
 */
export const readOnlyRouterKey = (cluster: string): string => `${cluster}.ro`;

const routerDir = (state: StateDir, namespace: string, cluster: string) => join(state.root, 'routers', namespace, cluster);

/** The router's client port (chosen once, kept across restarts); undefined before its first start. */
export function routerPort(state: StateDir, namespace: string, cluster: string): number | undefined {
  const f = join(routerDir(state, namespace, cluster), 'port');
  return existsSync(f) ? Number(readFileSync(f, 'utf8').trim()) : undefined;
}

/** A router that exits at once (a shard unreachable at start) is started again at most this often. */
const RESTART_BACKOFF_MS = 10_000;

export class LocalRouters {
  private readonly lastStart = new Map<string, number>();

  constructor(private readonly state: StateDir, private readonly log: Logger) {}

  dir(namespace: string, cluster: string) { return routerDir(this.state, namespace, cluster); }
  configFile(namespace: string, cluster: string) { return join(this.dir(namespace, cluster), 'router.json'); }
  private pidFile(namespace: string, cluster: string) { return join(this.dir(namespace, cluster), 'router.pid'); }
  logFile(namespace: string, cluster: string) { return join(this.dir(namespace, cluster), 'router.log'); }
  private portFile(namespace: string, cluster: string) { return join(this.dir(namespace, cluster), 'port'); }
  private passwordFile(namespace: string, cluster: string) { return join(this.dir(namespace, cluster), 'auth.password'); }

  port(namespace: string, cluster: string): number | undefined { return routerPort(this.state, namespace, cluster); }

  pid(namespace: string, cluster: string): number | undefined {
    const pid = readPid(this.pidFile(namespace, cluster));
    return isAlive(pid) ? pid : undefined;
  }

  /** Writes the config and (re)starts the router when the config changed or the process is gone. */
  async ensure(namespace: string, cluster: string, c: RouterFileConfig): Promise<'started' | 'restarted' | 'running'> {
    const dir = this.dir(namespace, cluster);
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    let port = this.port(namespace, cluster);
    if (!port) { port = await freePort(); writeFileSync(this.portFile(namespace, cluster), `${port}\n`); }
    // The auth password stays out of argv and out of the config: a 0600 file the config names.
    writeFileAtomicIfChanged(this.passwordFile(namespace, cluster), `${c.auth.password}\n`, { mode: 0o600 });
    const body = {
      listen: { host: '127.0.0.1', port },
      auth: { user: c.auth.user, passwordFile: this.passwordFile(namespace, cluster), database: c.auth.database },
      pool: c.pool, tls: c.tls,
      ...(c.sharding !== undefined ? { sharding: c.sharding } : {}),
      ...(c.backend ? { backend: c.backend } : {}),
    };
    const changed = writeFileAtomicIfChanged(this.configFile(namespace, cluster), `${JSON.stringify(body, null, 2)}\n`, { mode: 0o600 });
    const running = this.pid(namespace, cluster);
    if (running && !changed) return 'running';
    const k = `${namespace}/${cluster}`;
    if (!running && !changed && Date.now() - (this.lastStart.get(k) ?? 0) < RESTART_BACKOFF_MS) return 'running';
    this.lastStart.set(k, Date.now());
    if (running) await terminate(running, 10_000, false);
    const log = openSync(this.logFile(namespace, cluster), 'a');
    const { command, args } = pgopCommand(['router', '--config', this.configFile(namespace, cluster)]);
    const child = spawn(command, args, { detached: true, stdio: ['ignore', log, log], cwd: '/' });
    closeSync(log);
    child.unref();
    if (child.pid) writePid(this.pidFile(namespace, cluster), child.pid);
    this.log.info({ cluster: `${namespace}/${cluster}`, port, pid: child.pid, reason: running ? 'config changed' : 'not running' }, running ? 'router restarted' : 'router started');
    return running ? 'restarted' : 'started';
  }

  async remove(namespace: string, cluster: string): Promise<void> {
    const pid = this.pid(namespace, cluster);
    if (pid) await terminate(pid, 10_000, false);
    removePid(this.pidFile(namespace, cluster));
    rmSync(this.dir(namespace, cluster), { recursive: true, force: true });
    this.log.info({ cluster: `${namespace}/${cluster}` }, 'router removed');
  }

  /** namespace/cluster of every router with a directory. */
  list(): { namespace: string; cluster: string }[] {
    const root = join(this.state.root, 'routers');
    if (!existsSync(root)) return [];
    return readdirSync(root).flatMap((namespace) => readdirSync(join(root, namespace)).map((cluster) => ({ namespace, cluster })));
  }
}
