// The local stand-in for a Pooler's Deployment + Service: `instances` PgBouncer processes sharing one port
// (SO_REUSEPORT), detached like the agents, started again by the next apply when one dies (the machine's
// watchPooler notices). Each process has its own directory: config, admin socket, pid file, log.
import { spawn } from 'node:child_process';
import { mkdirSync, openSync, closeSync, rmSync, writeFileSync, existsSync, readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import type { StateDir } from './state-dir.js';
import type { LocalPods } from './pods.js';
import type { EndpointTable } from './endpoints.js';
import type { OsUser } from '../os/os-user.js';
import { canAccess, handOver } from '../os/os-user.js';
import { freePort } from './ports.js';
import { isAlive, readPid, writePid, removePid, terminate, sleep } from './processes.js';
import type { Logger } from '../logging/logger.js';
import type { ApplyPoolerInput, PoolerApplied, PoolerRef } from '../../machines/pooler/pooler.types.js';
import type { PoolerApplyContext, PoolerPlatform } from '../pooler/pooler-platform.js';
import { routeLabel } from '../pooler/pooler-platform.js';
import { renderAuthFile, renderPgBouncerIni, type ServerTarget } from '../pooler/pgbouncer-config.js';
import { ensurePoolerAuth } from '../pooler/auth-sql.js';
import { localTlsFiles } from '../certs/local-certificates.js';
import { writeFileAtomicIfChanged } from '../os/atomic-file.js';
import { withAdmin, setPaused } from '../pooler/admin-console.js';
import { PermanentError } from '../platform.js';

export const PGBOUNCER = process.env.PGOP_PGBOUNCER ?? '/usr/sbin/pgbouncer';

export class LocalPoolers implements PoolerPlatform {
  /** Databases last seen on each cluster's primary, to keep explicit entries while the primary is away. */
  private readonly databases = new Map<string, string[]>();
  /** What this operator last set on each PgBouncer process (1.18 cannot be asked whether it is paused). */
  private readonly pausedByPid = new Map<number, boolean>();

  constructor(
    private readonly state: StateDir,
    private readonly pods: LocalPods,
    private readonly endpoints: EndpointTable,
    private readonly pgUser: OsUser | null,
    private readonly dataRoot: string,
    private readonly log: Logger,
  ) {}

  /** Operator-side files (port, process pid files): root-owned is fine. */
  dir(ref: PoolerRef) { return join(this.state.root, 'poolers', ref.namespace, ref.name); }
  portFile(ref: PoolerRef) { return join(this.dir(ref), 'port'); }
  pidFile(ref: PoolerRef, i: number) { return join(this.dir(ref), `pgbouncer-${i}.pid`); }
  logFile(ref: PoolerRef, i: number) { return join(this.dir(ref), `pgbouncer-${i}.log`); }
  /** The auth user's password, one per cluster (the role is shared by the cluster's poolers). */
  passwordFile(namespace: string, cluster: string) { return join(this.state.secretsDir(namespace, cluster), 'pooler.password'); }

  port(ref: PoolerRef): number | undefined {
    return existsSync(this.portFile(ref)) ? Number(readFileSync(this.portFile(ref), 'utf8').trim()) : undefined;
  }

  async apply(input: ApplyPoolerInput, ctx: PoolerApplyContext): Promise<PoolerApplied> {
    const ref = { namespace: input.namespace, name: input.name };
    const cluster = input.spec.cluster.name;
    const key = `${input.namespace}/${cluster}`;
    // Searchable (like an instance's directory), so the postgres OS user reaches `run/`; secrets live in run/ (0700).
    mkdirSync(this.dir(ref), { recursive: true, mode: 0o755 });
    let port = this.port(ref);
    if (!port) { port = await freePort(); writeFileSync(this.portFile(ref), `${port}\n`); }
    const password = this.password(input.namespace, cluster);
    if (ctx.primary) this.databases.set(key, await ensurePoolerAuth(ctx.primary, password));

    const found = await this.server(input.namespace, cluster, ctx);
    const home = this.home(ref);
    const authFile = join(home, 'auth.txt');
    this.writeOwned(authFile, renderAuthFile(password));
    // A cluster with TLS (sec-tls: clusters/<ns>/<cluster>/tls/ca.crt) is reached with verify-full against its CA,
    // copied next to the config so PgBouncer's OS user can read it whatever the state dir's modes.
    // Clients get TLS too, with the cluster's own server certificate (it names 127.0.0.1 and localhost).
    const clusterTls = localTlsFiles(this.state, input.namespace, cluster);
    let server = found;
    if (found && existsSync(clusterTls.caFile)) {
      const caFile = join(home, 'ca.crt');
      this.writeOwned(caFile, readFileSync(clusterTls.caFile, 'utf8'));
      server = { ...found, caFile };
      if (existsSync(clusterTls.certFile) && existsSync(clusterTls.keyFile)) {
        const certFile = join(home, 'server.crt');
        const keyFile = join(home, 'server.key');
        this.writeOwned(certFile, readFileSync(clusterTls.certFile, 'utf8'));
        this.writeOwned(keyFile, readFileSync(clusterTls.keyFile, 'utf8'));
        server = { ...server, clientTls: { certFile, keyFile } };
      }
    }
    const started: number[] = [];
    let ready = 0;
    let paused = false;
    for (let i = 0; i < input.spec.instances; i++) {
      const procDir = join(home, String(i));
      mkdirSync(procDir, { recursive: true, mode: 0o700 });
      handOver(procDir, this.pgUser);
      const ini = renderPgBouncerIni(input.spec, {
        listenAddr: '127.0.0.1', listenPort: port, socketDir: procDir, pidFile: join(procDir, 'pgbouncer.pid'), authFile,
        reusePort: input.spec.instances > 1,
      }, server ? { ...server, databases: this.databases.get(key) ?? [] } : null);
      const iniFile = join(procDir, 'pgbouncer.ini');
      const changed = this.writeOwned(iniFile, ini);
      const pid = readPid(this.pidFile(ref, i));
      const admin = { host: procDir, port, password };
      if (!isAlive(pid)) {
        this.start(ref, i, iniFile);
        started.push(i);
        if (!(await this.waitForAdmin(admin))) throw new Error(`pgbouncer ${i} of pooler ${ref.name} did not start; see ${this.logFile(ref, i)}`);
      }
      const pidNow = readPid(this.pidFile(ref, i));
      const known = pidNow ? this.pausedByPid.get(pidNow) : undefined;
      paused = await withAdmin(admin, async (run) => {
        // RELOAD rereads the file; pools whose connect string changed close their server connections as they
        // are released, so held clients stay and the next transaction reaches the new target.
        if (changed && !started.includes(i)) await run('RELOAD');
        // A fresh process runs unpaused; otherwise ask only when this operator has not set the state itself.
        const current = started.includes(i) ? false : known;
        return current === input.spec.paused ? current : setPaused(run, input.spec.paused);
      });
      if (pidNow) this.pausedByPid.set(pidNow, paused);
      ready++;
    }
    for (let i = input.spec.instances; existsSync(this.pidFile(ref, i)); i++) await this.stopProcess(ref, i);
    if (started.length) this.log.info({ pooler: `${ref.namespace}/${ref.name}`, started, port }, 'pgbouncer started');
    return { target: routeLabel(cluster, ctx.route), paused, instances: input.spec.instances, readyInstances: ready, endpoint: `127.0.0.1:${port}` };
  }

  async running(ref: PoolerRef, instances: number): Promise<boolean> {
    for (let i = 0; i < instances; i++) if (!isAlive(readPid(this.pidFile(ref, i)))) return false;
    return true;
  }

  async remove(ref: PoolerRef): Promise<void> {
    if (existsSync(this.dir(ref))) {
      for (const f of readdirSync(this.dir(ref))) {
        const m = /^pgbouncer-(\d+)\.pid$/.exec(f);
        if (m) await this.stopProcess(ref, Number(m[1]));
      }
    }
    rmSync(this.home(ref, false), { recursive: true, force: true });
    rmSync(this.dir(ref), { recursive: true, force: true });
  }

  private async server(namespace: string, cluster: string, ctx: PoolerApplyContext): Promise<Omit<ServerTarget, 'databases'> | null> {
    if (!ctx.route) return null;
    if (ctx.route.kind === 'instance') {
      const pod = await this.pods.get(namespace, ctx.route.instance);
      return pod ? { host: '127.0.0.1', port: pod.port } : null;
    }
    const ep = await this.endpoints.get(namespace, cluster);
    return ep ? { host: '127.0.0.1', port: ep.readOnly } : null;
  }

  private password(namespace: string, cluster: string): string {
    const file = this.passwordFile(namespace, cluster);
    if (!existsSync(this.state.secretsDir(namespace, cluster))) throw new Error(`cluster ${namespace}/${cluster} has not been provisioned yet`);
    if (!existsSync(file)) writeFileSync(file, `${randomBytes(18).toString('base64url')}\n`, { mode: 0o600, flag: 'wx' });
    return readFileSync(file, 'utf8').trim();
  }

  /** Files PgBouncer reads live where the postgres OS user can reach them (the state dir, else the data root). */
  private home(ref: PoolerRef, create = true): string {
    const inside = join(this.dir(ref), 'run');
    const outside = join(this.dataRoot, 'poolers', ref.namespace, ref.name);
    if (!create) return existsSync(inside) ? inside : outside;
    if (existsSync(inside) && canAccess(inside, this.pgUser)) return inside;
    mkdirSync(inside, { recursive: true, mode: 0o700 });
    handOver(inside, this.pgUser);
    if (canAccess(inside, this.pgUser)) return inside;
    rmSync(inside, { recursive: true, force: true });
    mkdirSync(join(outside, '..'), { recursive: true, mode: 0o755 });
    mkdirSync(outside, { recursive: true, mode: 0o700 });
    handOver(outside, this.pgUser);
    return outside;
  }

  /** Writes when the content differs; returns whether it did. Mode 0600, owned by the user PgBouncer runs as. */
  /** Crash-safe and only when changed; true when PgBouncer has something new to read. */
  private writeOwned(file: string, text: string): boolean {
    return writeFileAtomicIfChanged(file, text, { owner: this.pgUser });
  }

  private start(ref: PoolerRef, i: number, iniFile: string): void {
    if (!existsSync(PGBOUNCER)) throw new PermanentError(`PgBouncer is not installed at ${PGBOUNCER} (Debian: apt-get install pgbouncer; or set PGOP_PGBOUNCER)`);
    const log = openSync(this.logFile(ref, i), 'a');
    const child = spawn(PGBOUNCER, [iniFile], {
      detached: true, stdio: ['ignore', log, log], cwd: '/',
      ...(this.pgUser ? { uid: this.pgUser.uid, gid: this.pgUser.gid } : {}),
    });
    closeSync(log);
    child.unref();
    if (child.pid) writePid(this.pidFile(ref, i), child.pid);
  }

  private async stopProcess(ref: PoolerRef, i: number): Promise<void> {
    const pid = readPid(this.pidFile(ref, i));
    // The Pooler is going away (or scaling in): SIGTERM closes it at once.
    if (pid) await terminate(pid, 5000, false);
    removePid(this.pidFile(ref, i));
  }

  private async waitForAdmin(admin: { host: string; port: number; password: string }): Promise<boolean> {
    for (let n = 0; n < 50; n++) {
      try { await withAdmin(admin, async (run) => run('SHOW VERSION')); return true; } catch { await sleep(100); }
    }
    return false;
  }
}

/** Every PgBouncer process this state directory started (for `pgop local down`). */
export function poolerPids(state: StateDir): number[] {
  const root = join(state.root, 'poolers');
  if (!existsSync(root)) return [];
  const pids: number[] = [];
  for (const ns of readdirSync(root)) {
    for (const name of readdirSync(join(root, ns))) {
      for (const f of readdirSync(join(root, ns, name))) {
        const pid = /^pgbouncer-\d+\.pid$/.test(f) ? readPid(join(root, ns, name, f)) : undefined;
        if (pid && isAlive(pid)) pids.push(pid);
      }
    }
  }
  return pids;
}
