// The operator's work once it leads, the same on every platform: one cluster actor per PostgresCluster, persisted
// in its status, fed by the store's watch and a periodic resync; long steps on the BullMQ worker; a per-platform
// observation tick (instances reported or lost, lost pods recreated, traffic rerouted).
import { clusterMachine } from '../../machines/cluster/cluster.machine.js';
import type { ClusterSnapshot } from '../../machines/cluster/cluster.selectors.js';
import type { PostgresClusterSpec } from '../../crds/postgrescluster.js';
import { ResourceController } from '../../actors/resource-controller.js';
import { postgresClusterBinding, withDurations } from '../../actors/bindings/postgrescluster.binding.js';
import type { FailoverRecord } from '../../crds/postgrescluster.js';
import { createClusterImplementations, type ClusterDeps } from '../implementations/cluster.impl.js';
import { cloneInstanceProcessor } from '../implementations/clone-step.js';
import { startStepWorker } from '../../actors/queues/step-worker.js';
import { openStepsQueue, bullConnection } from '../../actors/queues/steps-queue.js';
import type { Logger } from '../logging/logger.js';
import { keyString, type ResourceKey, type ResourceStore } from '../store/resource-store.js';
import type { PlanPlatform } from '../platform.js';
import { abortableSleep } from '../retry.js';
import { createOperatorMetrics } from '../metrics/operator-metrics.js';
import { startInspectorServer } from '../inspect/inspector-server.js';
import { stateLabel } from '../inspect/actor-inspection.js';
import { serveMetrics } from '../metrics/metrics-server.js';
import { selectPhase } from '../../machines/cluster/cluster.selectors.js';

export const CLUSTER_KIND = 'PostgresCluster';
export type ClusterController = ResourceController<typeof clusterMachine>;

export interface ClusterOperatorOptions {
  store: ResourceStore;
  platform: PlanPlatform;
  redisUrl: string;
  log: Logger;
  metricsPort: number;
  /** Loopback by default; 0.0.0.0 in a Pod so the metrics Service reaches it. */
  metricsHost?: string;
  inspectPort?: number;
  /** Drill: `machine:state` kills the process when that state is entered. */
  crashAt?: string;
  extraStatus?: (key: ResourceKey) => Promise<Record<string, unknown>>;
  /** One observation round of the platform, every second. */
  observe: (ctl: ClusterController) => Promise<void>;
  /** A phase change or a finished failover/switchover, for Kubernetes Events. */
  onNotice?: (key: ResourceKey, notice: { type: 'Normal' | 'Warning'; reason: string; message: string }) => void;
}

export interface RunningOperator {
  controller: ClusterController;
  metricsPort: number;
  inspectPort: number | undefined;
  stop(): Promise<void>;
}

export async function startClusterOperator(o: ClusterOperatorOptions): Promise<RunningOperator> {
  const { store, platform, log } = o;
  const metrics = createOperatorMetrics();
  const inspector = o.inspectPort !== undefined ? await startInspectorServer(o.inspectPort) : undefined;
  if (inspector) log.info({ url: `http://127.0.0.1:${inspector.port}` }, 'Stately inspector relay listening on loopback');
  const effectsLog = log.child({ component: 'effects' });
  const holder: { controller?: ClusterController } = {};
  const keyFor = (namespace: string, name: string): ResourceKey => ({ kind: CLUSTER_KIND, namespace, name });
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
  const steps = await openStepsQueue(o.redisUrl);
  const worker = process.env.PGOP_WORKERS === 'external' ? undefined : startStepWorker({
    connection: bullConnection(o.redisUrl),
    processors: { cloneInstance: cloneInstanceProcessor(clusterDeps) },
    log: log.child({ component: 'worker' }),
    onJobDone: (name, outcome, ms) => metrics.job(name, outcome, ms),
  });
  clusterDeps.steps = steps;

  const historySeen = new Map<string, number>();
  const phaseSeen = new Map<string, string>();
  const title = (w: string) => `${w.slice(0, 1).toUpperCase()}${w.slice(1)}`;
  const notice = (key: ResourceKey, plan: FailoverRecord) => o.onNotice?.(key, {
    type: plan.outcome === 'failed' ? 'Warning' : 'Normal',
    reason: `${title(plan.kind)}${title(plan.outcome)}`,
    message: `${plan.kind} ${plan.from} → ${plan.to ?? '-'}: ${plan.outcome}${plan.durationMs !== undefined ? ` in ${plan.durationMs} ms` : ''}`,
  });
  const machine = clusterMachine.provide(createClusterImplementations(clusterDeps));
  const ctl = new ResourceController(postgresClusterBinding({
    machine,
    onSnapshot: (key, snap) => {
      const id = keyString(key);
      metrics.resourceState(CLUSTER_KIND, `${key.namespace}/${key.name}`, snap.status === 'done' ? null : stateLabel(snap.value));
      const seen = historySeen.get(id) ?? snap.context.history.length;
      for (const plan of snap.context.history.slice(seen)) {
        const r = withDurations(plan);
        metrics.planFinished(plan.kind, plan.outcome, r.durationMs);
        log.info({ resource: id, plan: r }, `${plan.kind} ${plan.outcome}: ${plan.from} → ${plan.to ?? '-'} in ${r.durationMs ?? '?'} ms`);
        notice(key, r);
      }
      historySeen.set(id, snap.context.history.length);
      const phase = selectPhase(snap);
      const before = phaseSeen.get(id);
      if (before !== undefined && before !== phase) {
        o.onNotice?.(key, { type: phase === 'Degraded' || phase === 'Failed' ? 'Warning' : 'Normal', reason: phase, message: `phase ${before} → ${phase}` });
      }
      phaseSeen.set(id, phase);
    },
    ...(o.extraStatus ? { extraStatus: o.extraStatus } : {}),
  }), store, log, {
    onTransition: (m, from, to) => metrics.transition(m, from, to),
    ...(inspector ? { inspectorUrl: `ws://127.0.0.1:${inspector.port}` } : {}),
    ...(o.crashAt ? { crashAt: o.crashAt } : {}),
    onWriteError: () => metrics.reconcileError(CLUSTER_KIND),
  });
  holder.controller = ctl;

  // One lane per resource: syncs of the same key never overlap.
  const lanes = new Map<string, Promise<void>>();
  const syncKey = (key: ResourceKey) => {
    const id = keyString(key);
    const next = (lanes.get(id) ?? Promise.resolve()).then(async () => {
      const r = await store.get(key);
      if (r) await ctl.sync(r); else await ctl.release(id);
    }).catch((e: unknown) => { metrics.reconcileError(CLUSTER_KIND); log.error({ resource: id, err: (e as Error).message }, 'sync failed'); });
    lanes.set(id, next);
    return next;
  };

  const unwatch = await store.watch((e) => { if (e.key.kind === CLUSTER_KIND) void syncKey(e.key); });
  const resync = async () => {
    await ctl.resync(await store.list(CLUSTER_KIND));
    metrics.actors(CLUSTER_KIND, ctl.size);
  };
  await resync();
  const metricsServer = await serveMetrics(metrics.registry, o.metricsPort, o.metricsHost);

  const stopping = new AbortController();
  const loop = async (everyMs: number, fn: () => Promise<void>, what: string) => {
    while (!stopping.signal.aborted) {
      try { await fn(); } catch (e) { log.error({ loop: what, err: (e as Error).message }, 'loop iteration failed'); }
      await abortableSleep(everyMs, stopping.signal).catch(() => undefined);
    }
  };
  const loops = [loop(1000, () => o.observe(ctl), 'observe'), loop(10_000, resync, 'resync')];

  return {
    controller: ctl,
    metricsPort: (metricsServer.address() as { port: number } | null)?.port ?? o.metricsPort,
    inspectPort: inspector?.port,
    async stop() {
      stopping.abort();
      await unwatch();
      await Promise.allSettled(loops);
      await ctl.stopAll();
      // Graceful: the worker finishes the jobs it holds (or they are picked up again after the lock expires).
      await worker?.close();
      await steps.queue.close();
      await steps.events.close();
      metricsServer.close();
      await inspector?.close();
    },
  };
}

export const clusterSnapshot = (ctl: ClusterController, namespace: string, name: string) =>
  ctl.snapshot({ kind: CLUSTER_KIND, namespace, name }) as ClusterSnapshot | undefined;
