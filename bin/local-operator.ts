// The operator on the local platform: a background process per state directory that runs the cluster actors
// against the Redis store, the pod supervisor (kubelet), the status observer and the endpoint forwarders.
// Agents are not its children: killing the daemon leaves PostgreSQL running, as an operator crash would.
import { startOperator, clusterSnapshot } from './operator.js';
import type { Runtime } from '../actors/runtime.js';
import { selectRoutes } from '../machines/cluster/routes.js';
import { createLogger, type Logger } from '../adapters/logging/logger.js';
import { connectRedis } from '../adapters/redis/connection.js';
import { postgresUser } from '../adapters/os/os-user.js';
import { RedisResourceStore } from '../adapters/local/redis-store.js';
import { StateDir } from '../adapters/local/state-dir.js';
import { LocalPods } from '../adapters/local/pods.js';
import { LocalSecrets } from '../adapters/local/secrets.js';
import { EndpointTable, EndpointProxies, type EndpointRecord, type Target } from '../adapters/local/endpoints.js';
import { LocalPlatform } from '../adapters/local/local-platform.js';
import { localCertificatesFromEnv, x509Builders } from '../adapters/certs/local-certificates.js';
import { LocalPoolers } from '../adapters/local/poolers.js';
import { LocalSecretStore } from '../adapters/local/local-secret-store.js';
import { InstanceObserver } from '../adapters/instance-observer.js';
import { LocalBackupHosts } from '../adapters/local/backup-hosts.js';
import { writePid, removePid } from '../adapters/local/processes.js';
import { RedisLeaderElector } from '../adapters/leader/leader-election.js';
import { lead, untilStopped } from '../adapters/leader/lead.js';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { mkdirSync } from 'node:fs';
import { freePort } from '../adapters/local/ports.js';
import { DAEMON_READY_KEY, spawnDaemon } from '../adapters/local/control.js';
import { LocalRouters } from '../adapters/local/routers.js';
import { syncLocalRouters } from './local-routers.js';
import { LocalPower } from '../adapters/local/power.js';
import { selectStoppedInstances } from '../machines/cluster/power.selectors.js';


export interface DaemonOptions { inspectPort?: number }

export async function runDaemon(stateDirPath: string, options: DaemonOptions = {}): Promise<void> {
  const state = new StateDir(stateDirPath);
  const log = createLogger('operator', { platform: 'local', stateDir: state.root });
  const record = state.readPlatform();
  if (!record) throw new Error(`${state.root} has no platform.json; start with \`pgop local up\``);
  const memberFile = join(state.daemonsDir, String(process.pid));
  mkdirSync(state.daemonsDir, { recursive: true });
  writePid(memberFile, process.pid);

  // Loading the X.509 library blocks the event loop for a moment: do it before holding any lease.
  await x509Builders();
  const redis = connectRedis(record.redisUrl, { maxRetriesPerRequest: 3 });
  redis.on('error', (e) => log.error({ err: e.message }, 'redis error'));

  // Only the leader acts; the others wait to take over (operator replicas on the same store).
  const elector = new RedisLeaderElector(redis, `${hostname()}-${process.pid}`, Number(process.env.PGOP_LEADER_LEASE_MS ?? 5000));
  const successor = () => { spawnDaemon(state, record.redisUrl, options.inspectPort !== undefined ? ['--inspect', String(options.inspectPort)] : []); };
  const stopHolding = await lead(elector, log, {}, successor);
  if (!stopHolding) {
    removePid(memberFile);
    redis.disconnect();
    return;
  }
  writePid(state.daemonPidFile, process.pid);
  const store = new RedisResourceStore(redis);
  const pgUser = postgresUser();
  const pods = new LocalPods(state, redis, pgUser, record.dataRoot, log.child({ component: 'pods' }));
  const secrets = new LocalSecrets(state);
  const endpoints = new EndpointTable(redis);
  const platform = new LocalPlatform(pods, secrets, endpoints, pgUser, redis, record.redisUrl, localCertificatesFromEnv(state));

  const proxies = new EndpointProxies(log.child({ component: 'endpoints' }));
  const routers = new LocalRouters(state, log.child({ component: 'routers' }));
  const observerRef: { current?: InstanceObserver } = {};
  const podPorts = new Map<string, number>();
  // The forwarders follow the one routing decision (machines/cluster/routes.ts).
  const targets = (runtime: Runtime, rec: EndpointRecord): { rw: Target[]; ro: Target[] } => {
    const snap = clusterSnapshot(runtime, rec.namespace, rec.cluster);
    if (!snap) return { rw: [], ro: [] };
    const routes = selectRoutes(snap, (name) => observerRef.current?.status(rec.namespace, name));
    const target = (name: string): Target[] => {
      const port = podPorts.get(`${rec.namespace}/${name}`);
      return port ? [{ host: '127.0.0.1', port }] : [];
    };
    return { rw: routes.readWrite ? target(routes.readWrite) : [], ro: routes.readOnly.flatMap(target) };
  };
  let controller: Runtime | undefined;
  const syncEndpoints = async () => {
    if (!controller) return;
    const ctl = controller;
    podPorts.clear();
    for (const p of await pods.list()) podPorts.set(`${p.namespace}/${p.name}`, p.port);
    await proxies.sync(await endpoints.list(), (rec) => targets(ctl, rec));
  };
  platform.syncEndpoints = syncEndpoints;
  // Hibernation and fencing: pods follow the cluster machine's list of instances to keep stopped (ADR 0028).
  const power = new LocalPower({ pods, agent: (c, i) => platform.agent(c, i), log: log.child({ component: 'power' }) });
  const syncPower = (runtime: Runtime) => {
    for (const key of runtime.keys('PostgresCluster')) {
      const snap = clusterSnapshot(runtime, key.namespace, key.name);
      if (snap && snap.status === 'active') power.request({ namespace: key.namespace, name: key.name }, selectStoppedInstances(snap));
    }
  };
  // Certificates are checked on a slower beat than the status loop; renewal is days ahead by default.
  let certsCheckedAt = 0;
  const rotateCertificates = async () => {
    if (Date.now() - certsCheckedAt < Number(process.env.PGOP_TLS_CHECK_MS ?? 10_000)) return;
    certsCheckedAt = Date.now();
    for (const { cluster, result } of await platform.maintainCertificates()) {
      if (result.issued) log.info({ cluster: `${cluster.namespace}/${cluster.name}`, reason: result.reason, serial: result.serial, notAfter: result.notAfter }, 'server certificate issued');
    }
  };

  const metricsPort = Number(process.env.PGOP_METRICS_PORT ?? 0) || await freePort();
  const operator = await startOperator({
    store, platform, redisUrl: record.redisUrl, log, metricsPort, secrets: new LocalSecretStore(store),
    backupHosts: new LocalBackupHosts(pods, state.root, pgUser),
    poolers: new LocalPoolers(state, pods, endpoints, pgUser, record.dataRoot, log.child({ component: 'poolers' })),
    ...(options.inspectPort !== undefined ? { inspectPort: options.inspectPort } : {}),
    ...(process.env.PGOP_CRASH_AT ? { crashAt: process.env.PGOP_CRASH_AT } : {}),
    extraStatus: async (key) => {
      const ep = await endpoints.get(key.namespace, key.name);
      return ep ? { endpoints: { readWrite: `127.0.0.1:${ep.readWrite}`, readOnly: `127.0.0.1:${ep.readOnly}` } } : {};
    },
    observe: async (runtime) => {
      controller = runtime;
      observerRef.current ??= new InstanceObserver(pods.asInstanceSource(), platform, (key, event) => runtime.send(key, event));
      await observerRef.current.tick();
      syncPower(runtime);
      await syncEndpoints();
      await rotateCertificates();
      await syncLocalRouters({ store, routers, endpoints, secrets, state, log: log.child({ component: 'routers' }) })
        .catch((e: unknown) => log.warn({ err: (e as Error).message }, 'router sync failed'));
    },
  });
  controller = operator.runtime;
  await redis.set(DAEMON_READY_KEY, JSON.stringify({ pid: process.pid, startedAt: new Date().toISOString(), metricsPort, ...(operator.inspectPort !== undefined ? { inspectPort: operator.inspectPort } : {}) }));
  log.info({ pid: process.pid, clusters: operator.runtime.keys('PostgresCluster').length }, 'operator started');

  await untilStopped(log);
  await operator.stop();
  await power.settle();
  observerRef.current?.stop();
  await proxies.closeAll();
  stopHolding();
  await redis.del(DAEMON_READY_KEY);
  await elector.release();
  redis.disconnect();
  removePid(state.daemonPidFile);
  removePid(memberFile);
  log.info('operator stopped');
  log.flush();
  // Shared Redis clients handed to BullMQ are not closed by it; nothing is left to do, so leave now.
  setTimeout(() => process.exit(0), 100);
}

export type { Logger };
