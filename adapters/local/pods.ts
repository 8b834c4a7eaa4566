// The local stand-in for kubelet + Pods + PVCs: one agent process per instance, detached in its own process
// group (an operator crash does not take instances down), restarted when it dies, with a data home that
// survives restarts and is removed only when the instance is.
import { spawn } from 'node:child_process';
import { rm } from 'node:fs/promises';
import { mkdirSync, openSync, closeSync, rmSync, existsSync, symlinkSync, lstatSync, readFileSync } from 'node:fs';
import { writeFileAtomic, writeFileAtomicIfChanged } from '../os/atomic-file.js';
import { join } from 'node:path';
import type { Redis } from 'ioredis';
import type { InstanceSpec } from '../instance/spec.js';
import type { OsUser } from '../os/os-user.js';
import { canAccess, handOver } from '../os/os-user.js';
import type { StateDir } from './state-dir.js';
import { pgopCommand } from './self.js';
import { freePort, portIsFree } from './ports.js';
import { isAlive, readPid, writePid, removePid, terminate, processTree, signalTree, runs, waitForExit } from './processes.js';
import type { Logger } from '../logging/logger.js';
import type { InstanceSource } from '../instance-observer.js';

export interface PodRecord {
  namespace: string;
  cluster: string;
  name: string;
  serial: number;
  port: number;
  httpPort: number;
  /** Directory owned by the postgres OS user: volume/pgdata, run/, postgres.log. */
  home: string;
  createdAt: string;
  removing?: boolean;
  /** Held stopped (fenced or hibernated, ADR 0028): the kubelet loop does not restart it; its data stays. */
  held?: boolean;
  /** The PostgreSQL bin directory this pod runs (its "image"); absent: the installed one of the cluster's major. */
  pgBinDir?: string;
}

const PODS = 'pgop:pods';
const field = (namespace: string, name: string) => `${namespace}/${name}`;

export class LocalPods {
  private readonly lastStart = new Map<string, { at: number; streak: number }>();
  private readonly deadSince = new Map<string, number>();

  constructor(
    private readonly state: StateDir,
    private readonly redis: Redis,
    private readonly pgUser: OsUser | null,
    private readonly dataRoot: string,
    private readonly log: Logger,
    private readonly recreateDelayMs = Number(process.env.PGOP_LOCAL_POD_RECREATE_MS ?? 3000),
  ) {}

  dir(rec: Pick<PodRecord, 'namespace' | 'name'>) { return this.state.instanceDir(rec.namespace, rec.name); }
  get stateRoot(): string { return this.state.root; }
  specFile(rec: Pick<PodRecord, 'namespace' | 'name'>) { return join(this.dir(rec), 'instance.json'); }
  pidFile(rec: Pick<PodRecord, 'namespace' | 'name'>) { return join(this.dir(rec), 'agent.pid'); }
  agentLog(rec: Pick<PodRecord, 'namespace' | 'name'>) { return join(this.dir(rec), 'agent.log'); }
  agentPid(rec: Pick<PodRecord, 'namespace' | 'name'>) { return readPid(this.pidFile(rec)); }
  /** The postmaster, when its pid file names a running postgres. */
  postmasterPid(rec: Pick<PodRecord, 'home'>): number | undefined {
    const pid = readPid(join(rec.home, 'volume', 'pgdata', 'postmaster.pid'));
    return runs(pid, 'postgres') ? pid : undefined;
  }

  /** Every process of the instance: the agent's group, the postmaster and all their descendants. */
  processes(rec: PodRecord): number[] {
    const agent = this.agentPid(rec);
    return processTree([agent, this.postmasterPid(rec)], isAlive(agent) ? [agent] : []);
  }

  /**
   * Signals the whole instance, like freezing or killing its pod's cgroup: STOP freezes every process (the agent
   * first, so it cannot react to the others stopping), CONT thaws them, KILL is the local STONITH.
   */
  signalInstance(rec: PodRecord, signal: NodeJS.Signals): number[] {
    return signalTree(() => this.processes(rec), signal);
  }

  /** The local STONITH: SIGKILL to every process of the instance, frozen or not, and wait until they are gone. */
  async killInstance(rec: PodRecord): Promise<number[]> {
    const pids = this.signalInstance(rec, 'SIGKILL');
    for (const pid of pids) await waitForExit(pid, 5000);
    return pids;
  }

  async get(namespace: string, name: string): Promise<PodRecord | undefined> {
    const raw = await this.redis.hget(PODS, field(namespace, name));
    return raw ? (JSON.parse(raw) as PodRecord) : undefined;
  }

  async list(filter?: { namespace: string; cluster: string }): Promise<PodRecord[]> {
    const all = Object.values(await this.redis.hgetall(PODS)).map((r) => JSON.parse(r) as PodRecord);
    return all.filter((p) => !filter || (p.namespace === filter.namespace && p.cluster === filter.cluster))
      .sort((a, b) => a.serial - b.serial);
  }

  /** The pods as the status loop sees them: kubelet's restarts first, then every pod that is not being removed. */
  asInstanceSource(): InstanceSource {
    return {
      reviveLost: () => this.reviveDead(),
      list: async () => (await this.list()).filter((p) => !p.removing).map((p) => ({
        namespace: p.namespace, cluster: p.cluster, name: p.name, agent: { url: `http://127.0.0.1:${p.httpPort}`, host: '127.0.0.1', port: p.port },
      })),
    };
  }

  /** Places a new pod (ports, data home) or returns the existing placement: creating twice is a no-op. */
  async place(namespace: string, cluster: string, name: string, serial: number): Promise<PodRecord> {
    const existing = await this.get(namespace, name);
    if (existing) return existing;
    const dir = this.dir({ namespace, name });
    mkdirSync(dir, { recursive: true, mode: 0o755 });
    const home = this.homeFor(namespace, name, dir);
    const rec: PodRecord = {
      namespace, cluster, name, serial, port: await freePort(), httpPort: await freePort(), home, createdAt: new Date().toISOString(),
    };
    await this.redis.hset(PODS, field(namespace, name), JSON.stringify(rec));
    return rec;
  }

  /** Writes the spec and starts the agent unless it already runs. */
  async run(rec: PodRecord, spec: InstanceSpec): Promise<void> {
    writeFileAtomic(this.specFile(rec), `${JSON.stringify(spec, null, 2)}\n`);
    if (!isAlive(this.agentPid(rec))) await this.start(rec);
  }

  /** Rewrites the spec of a running agent and asks it to reload (SIGHUP), only when something changed. */
  async respec(rec: PodRecord, spec: InstanceSpec): Promise<void> {
    if (!writeFileAtomicIfChanged(this.specFile(rec), `${JSON.stringify(spec, null, 2)}\n`)) return;
    const pid = this.agentPid(rec);
    if (isAlive(pid)) process.kill(pid, 'SIGHUP');
  }

  /** Records a changed placement (the bin directory a rolling update moved the pod to). */
  async update(rec: PodRecord): Promise<void> {
    await this.redis.hset(PODS, field(rec.namespace, rec.name), JSON.stringify(rec));
  }

  /**
   * Re-creates the pod like a Pod deleted and created again with a new image: the agent stops (postgres shuts
   * down cleanly) and starts again with the new spec. Its volume stays.
   */
  async recreate(rec: PodRecord, spec: InstanceSpec): Promise<void> {
    writeFileAtomic(this.specFile(rec), `${JSON.stringify(spec, null, 2)}\n`);
    await this.stop(rec);
    await this.start(rec);
  }

  async remove(namespace: string, name: string, keepData = false): Promise<void> {
    const rec = await this.get(namespace, name);
    if (!rec) return;
    await this.redis.hset(PODS, field(namespace, name), JSON.stringify({ ...rec, removing: true }));
    await this.stop(rec);
    if (!keepData) {
      // Asynchronous: a data directory of gigabytes removed synchronously stalls the operator past its leader lease.
      await rm(rec.home, { recursive: true, force: true });
      await rm(this.dir(rec), { recursive: true, force: true });
    }
    await this.redis.hdel(PODS, field(namespace, name));
    this.lastStart.delete(field(namespace, name));
  }

  /**
   * Holds a pod stopped without removing it: marked first (so the restart loop leaves it alone), then the agent's
   * SIGTERM stops postgres with a fast shutdown (a shutdown checkpoint; a primary's walsenders send all WAL first).
   */
  async hold(rec: PodRecord): Promise<boolean> {
    const wasRunning = isAlive(this.agentPid(rec));
    if (!rec.held) await this.redis.hset(PODS, field(rec.namespace, rec.name), JSON.stringify({ ...rec, held: true }));
    if (wasRunning || this.postmasterPid(rec) !== undefined) await this.stop(rec);
    return wasRunning;
  }

  /** Lifts a hold and starts the agent again (a no-op for a pod that is not held). */
  async release(rec: PodRecord): Promise<boolean> {
    if (!rec.held) return false;
    const next = { ...rec, held: false };
    await this.redis.hset(PODS, field(rec.namespace, rec.name), JSON.stringify(next));
    if (!isAlive(this.agentPid(next)) && existsSync(this.specFile(next))) await this.start(next);
    return true;
  }

  async stop(rec: PodRecord): Promise<void> {
    const pid = this.agentPid(rec);
    if (pid) await terminate(pid, 40_000);
    removePid(this.pidFile(rec));
  }

  /**
   * kubelet's restart loop: a lost pod comes back after a recreation delay (a lost Kubernetes Pod is not back in
   * an instant either; meanwhile the operator may fail over), with backoff when it keeps dying.
   */
  async reviveDead(now = Date.now()): Promise<PodRecord[]> {
    const revived: PodRecord[] = [];
    for (const rec of await this.list()) {
      const k = field(rec.namespace, rec.name);
      if (rec.removing || rec.held || isAlive(this.agentPid(rec)) || !existsSync(this.specFile(rec))) { this.deadSince.delete(k); continue; }
      const since = this.deadSince.get(k) ?? now;
      this.deadSince.set(k, since);
      const last = this.lastStart.get(k);
      const wait = Math.max(this.recreateDelayMs, last ? Math.min(10_000, 500 * 2 ** Math.min(last.streak, 5)) : 0);
      if (now - since < wait) continue;
      this.deadSince.delete(k);
      this.log.warn({ instance: rec.name, cluster: rec.cluster }, 'agent not running; restarting it');
      await this.start(rec);
      revived.push(rec);
    }
    return revived;
  }

  private async start(rec: PodRecord): Promise<void> {
    const k = field(rec.namespace, rec.name);
    const last = this.lastStart.get(k);
    const now = Date.now();
    this.lastStart.set(k, { at: now, streak: last && now - last.at < 60_000 ? last.streak + 1 : 0 });
    for (const port of [rec.port, rec.httpPort]) {
      if (!(await portIsFree(port))) this.log.warn({ instance: rec.name, port }, 'recorded port is busy; the agent will fail to bind until it is free');
    }
    const log = openSync(this.agentLog(rec), 'a');
    const { command, args } = pgopCommand(['instance', '--spec', this.specFile(rec)]);
    const child = spawn(command, args, { detached: true, stdio: ['ignore', log, log], cwd: '/' });
    closeSync(log);
    child.unref();
    if (child.pid) writePid(this.pidFile(rec), child.pid);
  }

  /** The postgres OS user must reach its files; when the state dir is not reachable, use the data root. */
  private homeFor(namespace: string, name: string, dir: string): string {
    const inside = join(dir, 'postgres');
    mkdirSync(inside, { recursive: true, mode: 0o700 });
    handOver(inside, this.pgUser);
    if (canAccess(inside, this.pgUser)) return inside;
    rmSync(inside, { recursive: true, force: true });
    const home = join(this.dataRoot, namespace, name);
    mkdirSync(join(this.dataRoot, namespace), { recursive: true, mode: 0o755 });
    mkdirSync(home, { recursive: true, mode: 0o700 });
    handOver(home, this.pgUser);
    const link = join(dir, 'postgres');
    if (!existsSync(link) || !lstatSync(link).isSymbolicLink()) symlinkSync(home, link);
    return home;
  }
}

export const readAgentLogTail = (file: string, lines = 20) =>
  existsSync(file) ? readFileSync(file, 'utf8').trimEnd().split('\n').slice(-lines).join('\n') : '';
