// Runs postgres as a child of the agent (not via pg_ctl) so the agent sees every exit at once. Readiness is
// "accepts a connection"; an orphan postmaster left by a killed agent is shut down before a new one starts.
import { spawn, type ChildProcess } from 'node:child_process';
import { openSync, closeSync, readFileSync, existsSync } from 'node:fs';
import { exitReason, logEnd } from '../adapters/instance/exit-reason.js';
import type { OsUser } from '../adapters/os/os-user.js';
import { withClient } from '../adapters/sql/connect.js';
import type { InstanceSpec } from '../adapters/instance/spec.js';
import { SUPERUSER } from '../adapters/instance/spec.js';
import { bin, libpqEnv, postmasterPid } from './layout.js';
import { readSecret } from './files.js';
import { peerTls, type InstanceRuntime } from './runtime.js';

export type SupervisorEvent =
  | { type: 'postgres.ready' }
  | { type: 'postgres.stable' }
  | { type: 'postgres.exited'; code: number | null; signal: string | null; reason?: string };

const STABLE_AFTER_MS = 30_000;
const alive = (pid: number) => { try { process.kill(pid, 0); return true; } catch { return false; } };
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export class PostgresSupervisor {
  private child: ChildProcess | null = null;
  private exited: Promise<void> = Promise.resolve();

  constructor(private readonly rt: InstanceRuntime, private readonly user: OsUser | null) {}

  private spec(): InstanceSpec { return this.rt.spec(); }

  get pid(): number | null { return this.child?.pid ?? null; }

  /**
   * What pg_reload_conf() does (SIGHUP to the postmaster), without a connection: a standby being repointed during a
   * failover reloads without a TLS handshake and authentication first. False when no postgres of ours runs.
   */
  reload(): boolean {
    try { return this.child?.kill('SIGHUP') ?? false; } catch { return false; }
  }
  /**
   * The image the running postmaster was started from: the container image in a Pod, else its bin directory (a
   * spec change applies at the next start).
   */
  get binDir(): string | null { return this.child ? this.startedFrom : null; }
  private startedFrom: string | null = null;

  /** Starts postgres and reports through `emit`; returns the cleanup for the invoking callback actor. */
  start(emit: (e: SupervisorEvent) => void): () => void {
    let stopped = false;
    const timers: NodeJS.Timeout[] = [];
    const run = async () => {
      await this.reapOrphan();
      const spec = this.spec();
      this.rt.writeConfig();
      this.rt.loadedGeneration = spec.configGeneration ?? null;
      const logFrom = logEnd(spec.logFile);
      const log = openSync(spec.logFile, 'a');
      this.startedFrom = spec.image ?? spec.pgBinDir;
      const child = spawn(bin(spec, 'postgres'), ['-D', spec.dataDir], {
        stdio: ['ignore', log, log], cwd: '/', env: libpqEnv(spec), ...(this.user ? { uid: this.user.uid, gid: this.user.gid } : {}),
      });
      closeSync(log);
      this.child = child;
      this.exited = new Promise((resolve) => child.once('exit', (code, signal) => {
        this.child = null;
        resolve();
        timers.forEach(clearTimeout);
        if (stopped) return;
        const reason = code ? exitReason(spec.logFile, logFrom, child.pid) : undefined;
        emit({ type: 'postgres.exited', code, signal, ...(reason ? { reason } : {}) });
      }));
      // A binary that cannot be spawned (missing, not executable for the postgres user) emits no exit: say so.
      child.once('error', (e) => {
        if (this.child !== child) return;
        this.child = null;
        timers.forEach(clearTimeout);
        if (!stopped) emit({ type: 'postgres.exited', code: null, signal: `start failed: ${e.message}` });
      });
      for (let i = 0; !stopped && this.child === child; i++) {
        if (await this.accepts(spec)) {
          emit({ type: 'postgres.ready' });
          timers.push(setTimeout(() => emit({ type: 'postgres.stable' }), STABLE_AFTER_MS));
          return;
        }
        await sleep(Math.min(1000, 100 + i * 50));
      }
    };
    run().catch((e: unknown) => { if (!stopped) emit({ type: 'postgres.exited', code: null, signal: `start failed: ${(e as Error).message}` }); });
    return () => {
      stopped = true;
      timers.forEach(clearTimeout);
      // Fast shutdown: the machine left supervising (stop requested); stop() waits for the exit.
      this.child?.kill('SIGINT');
    };
  }

  /** Fast shutdown (or immediate, to fence), escalating until postgres is gone: stopping must always finish. */
  async stop(mode: 'fast' | 'immediate' = 'fast', timeoutMs = 30_000): Promise<void> {
    const child = this.child;
    if (!child) return;
    child.kill(mode === 'fast' ? 'SIGINT' : 'SIGQUIT');
    const done = await Promise.race([this.exited.then(() => true), sleep(timeoutMs).then(() => false)]);
    if (done) return;
    child.kill('SIGQUIT');
    if (await Promise.race([this.exited.then(() => true), sleep(5000).then(() => false)])) return;
    child.kill('SIGKILL');
    await this.exited;
  }

  private async accepts(spec: InstanceSpec): Promise<boolean> {
    try {
      await withClient({ host: spec.host, port: spec.port, user: SUPERUSER, password: readSecret(spec.secrets.superuser), tls: peerTls(spec) }, (c) => c.query('SELECT 1'), 2000);
      return true;
    } catch {
      return false;
    }
  }

  /** A postmaster whose agent was killed alone keeps the data directory locked; shut it down first. */
  private async reapOrphan(): Promise<void> {
    const file = postmasterPid(this.spec());
    if (!existsSync(file)) return;
    const pid = Number(readFileSync(file, 'utf8').split('\n')[0]);
    if (!pid || pid === this.child?.pid || !alive(pid)) return;
    const signals: NodeJS.Signals[] = ['SIGINT', 'SIGQUIT', 'SIGKILL'];
    for (const sig of signals) {
      try { process.kill(pid, sig); } catch { return; }
      for (let i = 0; i < 50 && alive(pid); i++) await sleep(100);
      if (!alive(pid)) return;
    }
  }
}
