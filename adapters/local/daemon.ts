// The operator on the local platform: a background process per state directory that runs the cluster actors
// against the Redis store, the pod supervisor (kubelet), the status observer and the endpoint forwarders.
// Agents are not its children: killing the daemon leaves PostgreSQL running, as an operator crash would.
import { clusterMachine } from '../../machines/cluster/cluster.machine.js';
import type { ClusterSnapshot } from '../../machines/cluster/cluster.selectors.js';
import type { PostgresClusterSpec } from '../../crds/postgrescluster.js';
import { ResourceController } from '../../actors/resource-controller.js';
import { postgresClusterBinding } from '../../actors/bindings/postgrescluster.binding.js';
import { createClusterImplementations, type ClusterDeps } from '../implementations/cluster.impl.js';
import { cloneInstanceProcessor } from '../implementations/clone-step.js';
import { startStepWorker } from '../../actors/queues/step-worker.js';
import { openStepsQueue, bullConnection } from '../../actors/queues/steps-queue.js';
import { createLogger, type Logger } from '../logging/logger.js';
import { connectRedis } from '../redis/connection.js';
import { postgresUser } from '../os/os-user.js';
import { keyString, type ResourceKey } from '../store/resource-store.js';
import { RedisResourceStore } from './redis-store.js';
import { StateDir } from './state-dir.js';
import { LocalPods } from './pods.js';
import { LocalSecrets } from './secrets.js';
import { EndpointTable, EndpointProxies, type EndpointRecord, type Target } from './endpoints.js';
import { LocalPlatform } from './local-platform.js';
import { InstanceObserver } from './observer.js';
import { writePid, removePid } from './processes.js';
import { RedisLeaderElector } from '../leader/leader-election.js';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { mkdirSync } from 'node:fs';
import { abortableSleep } from '../retry.js';
import { createOperatorMetrics } from '../metrics/operator-metrics.js';
import { startInspectorServer } from '../inspect/inspector-server.js';
import { stateLabel } from '../inspect/actor-inspection.js';
import { serveMetrics } from '../metrics/metrics-server.js';
import { freePort } from './ports.js';
import { withDurations } from '../../actors/bindings/postgrescluster.binding.js';

export const DAEMON_READY_KEY = 'pgop:daemon';
const KIND = 'PostgresCluster';

export interface DaemonOptions { inspectPort?: number }

export async function runDaemon(stateDirPath: string, options: DaemonOptions = {}): Promise<void> {
  const state = new StateDir(stateDirPath);
  const log = createLogger('operator', { platform: 'local', stateDir: state.root });
  const record = state.readPlatform();
  if (!record) throw new Error(`${state.root} has no platform.json; start with \`pgop local up\``);
  const memberFile = join(state.daemonsDir, String(process.pid));
  mkdirSync(state.daemonsDir, { recursive: true });
  writePid(memberFile, process.pid);

  const redis = connectRedis(record.redisUrl, { maxRetriesPerRequest: 3 });
  redis.on('error', (e) => log.error({ err: e.message }, 'redis error'));

  // Only the leader acts; the others wait to take over (operator replicas on the same store).
  const elector = new RedisLeaderElector(redis, `${hostname()}-${process.pid}`, Number(process.env.PGOP_LEADER_LEASE_MS ?? 5000));
  const waiting = new AbortController();
  const stopWaiting = () => waiting.abort();
  process.once('SIGTERM', stopWaiting);
  process.once('SIGINT', stopWaiting);
  log.info({ leader: await elector.current() }, 'waiting to lead');
  try {
    await elector.acquire(waiting.signal);
  } catch {
    removePid(memberFile);
    redis.disconnect();
    return;
  }
  process.off('SIGTERM', stopWaiting);
  process.off('SIGINT', stopWaiting);
  const stopHolding = elector.hold((why) => {
    // Not sure to lead any more: stop acting at once, before another leader can start.
    log.error({ why }, 'lost leadership; exiting');
    log.flush();
    process.exit(3);
  });
  writePid(state.daemonPidFile, process.pid);
  log.info({ identity: elector.identity }, 'leading');
  const store = new RedisResourceStore(redis);
  const pgUser = postgresUser();
  const pods = new LocalPods(state, redis, pgUser, record.dataRoot, log.child({ component: 'pods' }));
  const secrets = new LocalSecrets(state);
  const endpoints = new EndpointTable(redis);
  const platform = new LocalPlatform(pods, secrets, endpoints, pgUser, redis, record.redisUrl);
  const proxies = new EndpointProxies(log.child({ component: 'endpoints' }));

  // Effects ask the controller for the current primary; the controller is built right after the machine.
  const metrics = createOperatorMetrics();
  const inspector = options.inspectPort !== undefined ? await startInspectorServer(options.inspectPort) : undefined;
  if (inspector) log.info({ url: `http://127.0.0.1:${inspector.port}` }, 'Stately inspector relay listening on loopback');
  const effectsLog = log.child({ component: 'effects' });
  const holder: { controller?: ResourceController<typeof clusterMachine> } = {};
  const keyFor = (namespace: string, name: string): ResourceKey => ({ kind: KIND, namespace, name });
  const clusterDeps: ClusterDeps = {
    platform,
    clusterSpec: async (c) => {
      const r = await store.get(keyFor(c.namespace, c.name));
      if (!r) throw new Error(`PostgresCluster ${c.namespace}/${c.name} not found`);
      return r.spec as PostgresClusterSpec;
    },
    currentPrimary: async (c) => holder.controller?.snapshot(keyFor(c.namespace, c.name))?.context.currentPrimary ?? null,
    log: effectsLog,
    onStep: (plan, step) => { metrics.step(plan, step); effectsLog.info({ plan, step }, `${plan} step done: ${step}`); },
    steps: { queue: undefined as never, events: undefined as never },
  };
  const historySeen = new Map<string, number>();
  const steps = await openStepsQueue(record.redisUrl);
  const worker = process.env.PGOP_WORKERS === 'external' ? undefined : startStepWorker({
    connection: bullConnection(record.redisUrl),
    processors: { cloneInstance: cloneInstanceProcessor(clusterDeps) },
    log: log.child({ component: 'worker' }),
    onJobDone: (name, outcome, ms) => metrics.job(name, outcome, ms),
  });

  clusterDeps.steps = steps;
  const machine = clusterMachine.provide(createClusterImplementations(clusterDeps));
  const ctl = new ResourceController(postgresClusterBinding({
    machine,
    onSnapshot: (key, snap) => {
      const id = keyString(key);
      metrics.resourceState(KIND, `${key.namespace}/${key.name}`, snap.status === 'done' ? null : stateLabel(snap.value));
      const seen = historySeen.get(id) ?? snap.context.history.length;
      for (const plan of snap.context.history.slice(seen)) {
        const r = withDurations(plan);
        metrics.planFinished(plan.kind, plan.outcome, r.durationMs);
        log.info({ resource: id, plan: r }, `${plan.kind} ${plan.outcome}: ${plan.from} → ${plan.to ?? '-'} in ${r.durationMs ?? '?'} ms`);
      }
      historySeen.set(id, snap.context.history.length);
    },
    extraStatus: async (key) => {
      const ep = await endpoints.get(key.namespace, key.name);
      return ep ? { endpoints: { readWrite: `127.0.0.1:${ep.readWrite}`, readOnly: `127.0.0.1:${ep.readOnly}` } } : {};
    },
  }), store, log, {
    onTransition: (m, from, to) => metrics.transition(m, from, to),
    ...(inspector ? { inspectorUrl: `ws://127.0.0.1:${inspector.port}` } : {}),
    ...(process.env.PGOP_CRASH_AT ? { crashAt: process.env.PGOP_CRASH_AT } : {}),
    onWriteError: () => metrics.reconcileError(KIND),
  });
  holder.controller = ctl;

  // One lane per resource: syncs of the same key never overlap.
  const lanes = new Map<string, Promise<void>>();
  const syncKey = (key: ResourceKey) => {
    const id = keyString(key);
    const next = (lanes.get(id) ?? Promise.resolve()).then(async () => {
      const r = await store.get(key);
      if (r) await ctl.sync(r); else await ctl.release(id);
    }).catch((e: unknown) => { metrics.reconcileError(KIND); log.error({ resource: id, err: (e as Error).message }, 'sync failed'); });
    lanes.set(id, next);
    return next;
  };

  const targets = (rec: EndpointRecord): { rw: Target[]; ro: Target[] } => {
    const snap = ctl.snapshot(keyFor(rec.namespace, rec.cluster)) as ClusterSnapshot | undefined;
    if (!snap) return { rw: [], ro: [] };
    const rw: Target[] = [];
    const ro: Target[] = [];
    for (const m of snap.context.members) {
      const pod = podPorts.get(`${rec.namespace}/${m.name}`);
      if (!pod) continue;
      if (m.name === snap.context.currentPrimary) {
        // The cluster decides who is primary (it holds the lease), even before the next report confirms a
        // promotion; a primary being failed over gets no traffic.
        const beingReplaced = snap.matches('failingOver') && snap.context.planFrom === m.name;
        if (!beingReplaced && !snap.context.goneInstances.includes(m.name)) rw.push({ host: '127.0.0.1', port: pod });
        continue;
      }
      const obs = observer.status(rec.namespace, m.name);
      if (m.phase === 'running' && obs?.role === 'replica' && obs.ready) ro.push({ host: '127.0.0.1', port: pod });
    }
    return { rw, ro };
  };
  const podPorts = new Map<string, number>();
  const observer = new InstanceObserver(pods, platform, (key, event) => ctl.send(key, event));

  const syncEndpoints = async () => {
    podPorts.clear();
    for (const p of await pods.list()) podPorts.set(`${p.namespace}/${p.name}`, p.port);
    await proxies.sync(await endpoints.list(), targets);
  };
  platform.syncEndpoints = syncEndpoints;

  const unwatch = await store.watch((e) => { if (e.key.kind === KIND) void syncKey(e.key); });
  const resync = async () => {
    const all = await store.list(KIND);
    await ctl.resync(all);
    metrics.actors(KIND, ctl.size);
  };
  await resync();
  const metricsPort = Number(process.env.PGOP_METRICS_PORT ?? 0) || await freePort();
  const metricsServer = await serveMetrics(metrics.registry, metricsPort);
  await redis.set(DAEMON_READY_KEY, JSON.stringify({ pid: process.pid, startedAt: new Date().toISOString(), metricsPort, ...(inspector ? { inspectPort: inspector.port } : {}) }));
  log.info({ pid: process.pid, clusters: ctl.size }, 'operator started');

  const stopping = new AbortController();
  const loop = async (everyMs: number, fn: () => Promise<void>, what: string) => {
    while (!stopping.signal.aborted) {
      try { await fn(); } catch (e) { log.error({ loop: what, err: (e as Error).message }, 'loop iteration failed'); }
      await abortableSleep(everyMs, stopping.signal).catch(() => undefined);
    }
  };
  const loops = [
    loop(1000, async () => {
      await observer.tick();
      await syncEndpoints();
    }, 'observe'),
    loop(10_000, resync, 'resync'),
  ];

  await new Promise<void>((resolve) => {
    const stop = (signal: string) => { log.info({ signal }, 'operator stopping'); stopping.abort(); resolve(); };
    process.once('SIGTERM', () => stop('SIGTERM'));
    process.once('SIGINT', () => stop('SIGINT'));
  });
  await unwatch();
  await Promise.allSettled(loops);
  await ctl.stopAll();
  // Graceful: the worker finishes the jobs it holds (or they are picked up again after the lock expires).
  await worker?.close();
  await steps.queue.close();
  await steps.events.close();
  await proxies.closeAll();
  metricsServer.close();
  await inspector?.close();
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
