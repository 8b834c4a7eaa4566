// `pgop pooler --kubernetes`: the entrypoint of a Pooler's pods. It reads the ConfigMap the operator writes and the
// Secrets it names (through the API, with the pod's own read-only identity), renders pgbouncer.ini with the shared
// renderer (which checks the spec again here), runs PgBouncer, and every few seconds applies what changed in place:
// RELOAD for the file, PAUSE/RESUME for `paused`. Beside it: /metrics (PgBouncer's pools and stats), /readyz
// (PgBouncer answers) and /healthz on the metrics port.
import { spawn, type ChildProcess } from 'node:child_process';
import { createServer } from 'node:http';
import { mkdirSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { CoreV1Api, type KubeConfig } from '@kubernetes/client-node';
import { loadKubeConfig, readSecretKey } from '../k8s/client.js';
import { createLogger, type Logger } from '../logging/logger.js';
import { handOver, postgresUser, type OsUser } from '../os/os-user.js';
import { writeFileAtomicIfChanged } from '../os/atomic-file.js';
import { renderAuthFile, renderPgBouncerIni, type ServerTarget } from './pgbouncer-config.js';
import { withAdmin, setPaused } from './admin-console.js';
import { createPoolerMetrics, type AdminRun } from './pooler-metrics.js';
import { POOLER_CONFIG_KEY, POOLER_METRICS_PORT, POOLER_PORT, poolerConfigMapName, type PoolerPodConfig } from '../k8s/specs/pooler-objects.js';
import { RUN_MOUNT } from '../k8s/specs/names.js';

const REFRESH_MS = Number(process.env.PGOP_POOLER_REFRESH_MS ?? 2000);
const PGBOUNCER = process.env.PGOP_PGBOUNCER ?? '/usr/sbin/pgbouncer';
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

interface PodEnv { namespace: string; pooler: string; podIP: string; runDir: string }

function podEnv(env: NodeJS.ProcessEnv = process.env): PodEnv {
  const need = (name: string) => {
    const v = env[name];
    if (!v) throw new Error(`${name} is not set: \`pgop pooler --kubernetes\` runs in a Pod of a Pooler's Deployment, which sets it`);
    return v;
  };
  return { namespace: need('POD_NAMESPACE'), pooler: need('PGOP_POOLER'), podIP: need('POD_IP'), runDir: env.PGOP_RUN_DIR ?? RUN_MOUNT };
}

/** Everything PgBouncer reads, rendered from the API; each file is written only when it changed. */
class PoolerFiles {
  private readonly core: CoreV1Api;
  config: PoolerPodConfig | null = null;
  password = '';
  readonly ini: string;
  readonly socketDir: string;

  constructor(kc: KubeConfig, private readonly env: PodEnv, private readonly user: OsUser | null) {
    this.core = kc.makeApiClient(CoreV1Api);
    this.ini = join(env.runDir, 'pgbouncer.ini');
    this.socketDir = join(env.runDir, 'socket');
  }

  private secret(name: string, key: string): Promise<string> {
    return readSecretKey(this.core, this.env.namespace, name, key);
  }

  private write(name: string, text: string): boolean {
    return writeFileAtomicIfChanged(join(this.env.runDir, name), text, { owner: this.user });
  }

  /** Re-reads the API and rewrites the files; true when PgBouncer has something new to read. */
  async refresh(): Promise<boolean> {
    const cm = await this.core.readNamespacedConfigMap({ namespace: this.env.namespace, name: poolerConfigMapName(this.env.pooler) });
    const raw = cm.data?.[POOLER_CONFIG_KEY];
    if (!raw) throw new Error(`ConfigMap ${poolerConfigMapName(this.env.pooler)} has no ${POOLER_CONFIG_KEY}`);
    const config = JSON.parse(raw) as PoolerPodConfig;
    const password = await this.secret(config.authSecret, 'password');
    let changed = this.write('auth.txt', renderAuthFile(password));
    let server: ServerTarget | null = config.server ? { ...config.server } : null;
    if (server && config.tls) {
      changed = this.write('ca.crt', await this.secret(config.tls.caSecret, config.tls.caKey)) || changed;
      changed = this.write('tls.crt', await this.secret(config.tls.serverSecret, 'tls.crt')) || changed;
      changed = this.write('tls.key', await this.secret(config.tls.serverSecret, 'tls.key')) || changed;
      server = { ...server, caFile: join(this.env.runDir, 'ca.crt'), clientTls: { certFile: join(this.env.runDir, 'tls.crt'), keyFile: join(this.env.runDir, 'tls.key') } };
    }
    const ini = renderPgBouncerIni(config.spec, {
      listenAddr: this.env.podIP, listenPort: POOLER_PORT, socketDir: this.socketDir, pidFile: join(this.env.runDir, 'pgbouncer.pid'),
      authFile: join(this.env.runDir, 'auth.txt'), reusePort: false,
    }, server);
    changed = this.write('pgbouncer.ini', ini) || changed;
    this.config = config;
    this.password = password;
    return changed;
  }
}

export async function runKubernetesPooler(): Promise<void> {
  const env = podEnv();
  const log = createLogger('pooler', { pooler: `${env.namespace}/${env.pooler}`, platform: 'kubernetes' });
  const user = postgresUser();
  mkdirSync(env.runDir, { recursive: true, mode: 0o755 });
  handOver(env.runDir, user);
  const files = new PoolerFiles(loadKubeConfig(), env, user);
  mkdirSync(files.socketDir, { recursive: true, mode: 0o700 });
  handOver(files.socketDir, user);
  let lastProblem = '';
  for (;;) {
    try { await files.refresh(); break; } catch (e) {
      const problem = (e as Error).message;
      if (problem !== lastProblem) log.warn({ err: problem }, 'pooler configuration not complete yet; retrying');
      lastProblem = problem;
      await sleep(REFRESH_MS);
    }
  }

  const admin = <T>(fn: (run: AdminRun) => Promise<T>) => withAdmin({ host: files.socketDir, port: POOLER_PORT, password: files.password }, fn, 5000);
  let paused = false;
  const child = startPgBouncer(files.ini, user, log);
  let stopping = false;
  child.once('exit', (code, signal) => {
    if (!stopping) log.error({ code, signal }, 'pgbouncer exited');
    process.exit(stopping ? 0 : 1);
  });

  const { registry, collect } = createPoolerMetrics({ pooler: env.pooler, admin, maxClientConnections: () => files.config?.spec.pgbouncer.maxClientConnections ?? 0, paused: () => paused });
  const server = createServer((req, res) => {
    if (req.url === '/metrics') {
      collect().then(() => registry.metrics()).then((body) => { res.writeHead(200, { 'content-type': registry.contentType }); res.end(body); }, (e: unknown) => { res.writeHead(500); res.end(String(e)); });
    } else if (req.url === '/readyz') {
      admin((run) => run('SHOW VERSION')).then(() => { res.writeHead(200); res.end('ok\n'); }, () => { res.writeHead(503); res.end('pgbouncer does not answer\n'); });
    } else if (req.url === '/healthz') { res.writeHead(child.exitCode === null ? 200 : 503); res.end(); } else { res.writeHead(404); res.end(); }
  });
  await new Promise<void>((resolve, reject) => { server.once('error', reject); server.listen(POOLER_METRICS_PORT, env.podIP, resolve); });

  // Applies the newest configuration in place: RELOAD keeps clients; pools whose target moved reconnect.
  const sync = async (changed: boolean) => {
    const want = files.config?.spec.paused ?? false;
    await admin(async (run) => {
      if (changed) { await run('RELOAD'); log.info('configuration changed; reloaded'); }
      if (want !== paused) { paused = await setPaused(run, want); log.info({ paused }, paused ? 'paused' : 'resumed'); }
    });
  };
  for (let n = 0; n < 100 && !existsSync(join(files.socketDir, `.s.PGSQL.${POOLER_PORT}`)); n++) await sleep(100);
  await sync(false).catch((e: unknown) => log.warn({ err: (e as Error).message }, 'first sync failed; retrying'));
  const timer = setInterval(() => {
    files.refresh().then(sync).catch((e: unknown) => log.warn({ err: (e as Error).message }, 'pooler refresh failed'));
  }, REFRESH_MS);

  const stop = () => {
    stopping = true;
    clearInterval(timer);
    server.close();
    // SIGINT: PgBouncer's safe shutdown (waits for clients to finish their transactions) within the grace period.
    child.kill('SIGINT');
  };
  process.once('SIGTERM', stop);
  process.once('SIGINT', stop);
  log.info({ listen: `${env.podIP}:${POOLER_PORT}`, metrics: POOLER_METRICS_PORT }, 'pgbouncer started');
}

function startPgBouncer(ini: string, user: OsUser | null, log: Logger): ChildProcess {
  if (!existsSync(PGBOUNCER)) throw new Error(`PgBouncer is not installed at ${PGBOUNCER} (the image needs the pgbouncer package; or set PGOP_PGBOUNCER)`);
  // PgBouncer refuses to run as root: when the container runs as root (the test kubelet), it runs as postgres.
  const child = spawn(PGBOUNCER, [ini], { stdio: ['ignore', 'inherit', 'inherit'], ...(user ? { uid: user.uid, gid: user.gid } : {}) });
  child.once('error', (e) => log.error({ err: e.message }, 'pgbouncer did not start'));
  return child;
}
