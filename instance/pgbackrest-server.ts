// The instance's `pgbackrest server` on Kubernetes (ADR 0035): a standby's agent backs up with pg1 = the primary
// reached through this server, because pgBackRest copies a standby only while it also reaches the primary's data
// directory and postgres through its own protocol. Supervised here: started once the agent's TLS files exist,
// restarted when it exits, and reloaded (SIGHUP) when its config or certificate changes: the server reads its
// certificate only when it (re)initialises, and a restart would end the sessions in flight, such as a standby's
// `check` that runs just after its backup, when a young cluster's certificate gains a pod IP.
import { spawn, type ChildProcess } from 'node:child_process';
import { createHash, X509Certificate } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Logger } from 'pino';
import type { OsUser } from '../adapters/os/os-user.js';
import type { InstanceSpec } from '../adapters/instance/spec.js';
import { PGBACKREST_BIN, PGBACKREST_TLS_PORT, renderPgbackrestServerConf } from '../adapters/backup/pgbackrest-config.js';
import { tlsFiles } from './layout.js';
import { readSecret, writeOwned } from './files.js';

export const serverConfPath = (spec: InstanceSpec) => join(spec.runDir, 'pgbackrest-server.conf');

/** The CN of the instance's certificate: every instance of the cluster serves the same one, so it names the peers. */
export function certificateCn(certPem: string): string {
  const cn = /(?:^|\n)CN=([^\n]+)/.exec(new X509Certificate(certPem).subject)?.[1];
  if (!cn) throw new Error('the instance certificate has no CN; pgBackRest admits TLS clients by CN');
  return cn;
}

/** The server config for this spec, or null when there is nothing to serve (no repository, no certificate yet). */
export function serverConf(spec: InstanceSpec): string | null {
  const tls = tlsFiles(spec);
  if (!spec.backup || !existsSync(tls.cert) || !existsSync(tls.key) || !existsSync(tls.ca)) return null;
  return renderPgbackrestServerConf({
    address: spec.host, port: PGBACKREST_TLS_PORT, certFile: tls.cert, keyFile: tls.key, caFile: tls.ca,
    clientCn: certificateCn(readFileSync(tls.cert, 'utf8')), stanza: spec.backup.stanza, lockPath: join(spec.runDir, 'pgbackrest-server-lock'),
  });
}

export class PgbackrestServer {
  private child: ChildProcess | null = null;
  private running = '';
  private timer: NodeJS.Timeout | null = null;
  private nextStart = 0;
  private backoffMs = 1000;

  constructor(private readonly spec: () => InstanceSpec, private readonly user: OsUser | null, private readonly log: Logger) {}

  start(everyMs = 3000): void {
    this.tick();
    this.timer = setInterval(() => this.tick(), everyMs);
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    this.child?.kill('SIGTERM');
    this.child = null;
  }

  private tick(): void {
    let conf: string | null;
    let wanted: string;
    const spec = this.spec();
    try {
      conf = serverConf(spec);
      wanted = conf ? createHash('sha256').update(conf).update(readFileSync(tlsFiles(spec).cert)).update(readFileSync(tlsFiles(spec).key)).digest('hex') : '';
    } catch (e) {
      this.log.warn({ err: (e as Error).message }, 'pgbackrest server config not ready');
      return;
    }
    if (this.child && this.running === wanted) return;
    if (this.child && conf) {
      // pgBackRest re-reads its config on SIGHUP and builds a new TLS server from the files it names; the forked
      // sessions keep theirs. A server killed by this signal before it installed its handler is restarted as usual.
      writeOwned(serverConfPath(spec), conf, this.user);
      this.child.kill('SIGHUP');
      this.running = wanted;
      this.log.info('pgbackrest server config or certificate changed; reloaded it (sessions in progress keep going)');
      return;
    }
    if (this.child) { this.log.info('no repository or certificate any more; stopping the pgbackrest server'); this.child.kill('SIGTERM'); this.child = null; }
    if (!conf || Date.now() < this.nextStart) return;
    writeOwned(serverConfPath(spec), conf, this.user);
    // The remote it forks connects to the local postgres over the socket, which asks for the superuser's password.
    const child = spawn(PGBACKREST_BIN, [`--config=${serverConfPath(spec)}`, 'server'], {
      env: { ...process.env, PGPASSWORD: readSecret(spec.secrets.superuser) }, cwd: '/', stdio: ['ignore', 'ignore', 'pipe'],
      ...(this.user ? { uid: this.user.uid, gid: this.user.gid } : {}),
    });
    let stderr = '';
    child.stderr?.setEncoding('utf8').on('data', (c: string) => { stderr = (stderr + c).slice(-4096); });
    const startedAt = Date.now();
    child.on('error', (e) => this.log.error({ err: e.message }, 'pgbackrest server could not start'));
    child.on('exit', (code, signal) => {
      if (this.child === child) {
        this.child = null;
        if (Date.now() - startedAt > 30_000) this.backoffMs = 1000;
        this.nextStart = Date.now() + this.backoffMs;
        this.backoffMs = Math.min(30_000, this.backoffMs * 2);
        this.log.warn({ code, signal, stderr: stderr.trim().split('\n').slice(-3).join(' | ') }, 'pgbackrest server exited; restarting it');
      }
    });
    this.child = child;
    this.running = wanted;
    this.log.info({ port: PGBACKREST_TLS_PORT }, 'pgbackrest server started');
  }
}
