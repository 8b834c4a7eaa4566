// The operator's work once it leads, the same on every platform: the generic runtime over the kind registry
// (bin/kinds.ts), persisted in each object's status, fed by the store's watch and a periodic resync; long steps on
// the BullMQ worker; a per-platform observation tick (instances reported or lost, lost pods recreated, traffic
// rerouted). This is a composition root: it wires adapters (metrics, inspector, queues) into the runtime's ports.
import type { ClusterSnapshot } from '../machines/cluster/cluster.selectors.js';
import type { ClusterMachine } from '../machines/cluster/cluster.machine.js';
import type { BackupSnapshot } from '../machines/backup/backup.selectors.js';
import type { RestoreVerifySnapshot } from '../machines/restore-verify/restore-verify.selectors.js';
import { withDurations } from '../actors/bindings/postgrescluster.binding.js';
import type { Notice } from '../actors/binding.js';
import { startRuntime, type Runtime } from '../actors/runtime.js';
import type { ResourceController } from '../actors/resource-controller.js';
import { startStepWorker } from '../actors/queues/step-worker.js';
import { openStepsQueue, bullConnection, removeJobsOf } from '../adapters/queues/steps-queue.js';
import { cloneInstanceProcessor } from '../adapters/implementations/clone-step.js';
import { runBackupProcessor, type BackupHosts } from '../adapters/backup/backup-step.js';
import { verifyRestoreProcessor } from '../adapters/backup/verify-step.js';
import { verifyRestoreViaAgentProcessor } from '../adapters/backup/agent-verify-step.js';
import { runBackupViaAgentProcessor } from '../adapters/backup/agent-backup-step.js';
import type { Logger } from '../adapters/logging/logger.js';
import type { ResourceKey, ResourceStore, OwnedResourceWriter } from '../actors/ports/resource-store.js';
import type { PlanPlatform } from '../adapters/platform.js';
import type { PoolerPlatform } from '../adapters/pooler/pooler-platform.js';
import type { SecretStore } from '../adapters/secrets/secret-store.js';
import { abortableSleep } from '../adapters/retry.js';
import { createOperatorMetrics } from '../adapters/metrics/operator-metrics.js';
import { startInspectorServer } from '../adapters/inspect/inspector-server.js';
import { createActorInspection, createInspectorStream } from '../adapters/inspect/actor-inspection.js';
import { serveMetrics } from '../adapters/metrics/metrics-server.js';
import { registrations, servedKinds, clusterDeps, clusterKey, type OperatorDeps } from './kinds.js';

export const CLUSTER_KIND = 'PostgresCluster';
export type ClusterController = ResourceController<ClusterMachine>;

export interface ClusterOperatorOptions {
  store: ResourceStore & OwnedResourceWriter;
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
  /** PgBouncer for Poolers on this platform. */
  poolers?: PoolerPlatform;
  /** One observation round of the platform, every second. */
  observe: (runtime: Runtime) => Promise<void>;
  /** A phase change or a finished failover/switchover, for Kubernetes Events. */
  onNotice?: (key: ResourceKey, notice: Notice) => void;
  /** Where backups find the instances; absent on platforms that cannot run pgBackRest from the worker yet. */
  backupHosts?: BackupHosts;
  /** The platform's Secrets (PostgresUser passwords). */
  secrets: SecretStore;
}

export interface RunningOperator {
  runtime: Runtime;
  metricsPort: number;
  inspectPort: number | undefined;
  stop(): Promise<void>;
}

export async function startOperator(o: ClusterOperatorOptions): Promise<RunningOperator> {
  const { store, platform, log } = o;
  const metrics = createOperatorMetrics();
  const inspector = o.inspectPort !== undefined ? await startInspectorServer(o.inspectPort) : undefined;
  if (inspector) log.info({ url: `http://127.0.0.1:${inspector.port}` }, 'Stately inspector relay listening on loopback');
  const inspectorStream = inspector ? createInspectorStream(`ws://127.0.0.1:${inspector.port}`) : undefined;
  const effectsLog = log.child({ component: 'effects' });
  const steps = await openStepsQueue(o.redisUrl, log.child({ component: 'queue' }), metrics);
  const deps: OperatorDeps = {
    platform, store, writer: store, objects: store, log: effectsLog, steps, secrets: o.secrets,
    onStep: (plan, step) => { metrics.step(plan, step); effectsLog.info({ plan, step }, `${plan} step done: ${step}`); },
    ...(o.extraStatus ? { clusterExtraStatus: o.extraStatus } : {}),
    ...(o.backupHosts ? { backupHosts: o.backupHosts } : {}),
    ...(o.poolers ? { poolers: o.poolers } : {}),
  };
  const holder: { runtime?: Runtime } = {};
  const backupMetrics = (key: ResourceKey, before: BackupSnapshot | undefined, after: BackupSnapshot) => {
    const c = after.context;
    if (c.result) metrics.backupSucceeded({ namespace: key.namespace, cluster: c.cluster, ...c.result });
    // A failure is news only when it happens, not when a failed job's actor is restored.
    else if (before && after.matches('failed') && !before.matches('failed')) metrics.backupFailed(key.namespace, c.cluster, new Date());
  };
  const worker = process.env.PGOP_WORKERS === 'external' ? undefined : startStepWorker({
    connection: bullConnection(o.redisUrl),
    processors: {
      cloneInstance: cloneInstanceProcessor(clusterDeps(deps,
        async (c) => (holder.runtime?.snapshot(clusterKey(c)) as ClusterSnapshot | undefined)?.context.currentPrimary ?? null)),
      // Where the worker cannot reach the data directories (Kubernetes), the primary's agent runs pgBackRest.
      runBackup: o.backupHosts
        ? runBackupProcessor({ store, hosts: o.backupHosts })
        : runBackupViaAgentProcessor({ store, agent: (c, instance) => platform.agent(c, instance) }),
      verifyRestore: o.backupHosts
        ? verifyRestoreProcessor({ store, hosts: o.backupHosts })
        : verifyRestoreViaAgentProcessor({ store, agent: (c, instance) => platform.agent(c, instance) }),
    },
    log: log.child({ component: 'worker' }),
    onJobDone: (name, outcome, ms) => metrics.job(name, outcome, ms),
    onError: () => metrics.queueError('worker'),
  });

  const runtime = await startRuntime<OperatorDeps>({
    store, log, deps, servedKinds, metrics,
    // A platform without PgBouncer support leaves Poolers to the NotImplemented condition instead of retrying.
    registrations: registrations.filter((r) => r.binding.kind !== 'Pooler' || o.poolers !== undefined),
    inspect: (resource, actorLog) => createActorInspection({
      log: actorLog, resource,
      onTransition: (m, from, to) => metrics.transition(m, from, to),
      ...(inspectorStream ? { stream: inspectorStream } : {}),
      ...(o.crashAt ? { crashAt: o.crashAt } : {}),
    }),
    onAttachedSnapshot: (machineId, key, before, after) => {
      if (machineId !== 'restoreVerify') return;
      const last = (after as RestoreVerifySnapshot).context.history.at(-1);
      if (!last) return;
      metrics.restoreVerified({ namespace: key.namespace, cluster: key.name, verified: last.verified, finishedAt: last.finishedAt ?? last.startedAt, durationSeconds: last.durationSeconds });
      const previous = (before as RestoreVerifySnapshot | undefined)?.context.history.at(-1);
      if (before && JSON.stringify(previous) !== JSON.stringify(last)) {
        const line = { resource: `${key.kind}/${key.namespace}/${key.name}`, rehearsal: last };
        if (last.verified) log.info(line, `restore rehearsal of ${last.backup ?? '?'} verified`);
        else log.warn(line, `restore rehearsal failed: ${last.reason}: ${last.message}`);
      }
    },
    onSnapshot: (key, before, after) => {
      if (key.kind === 'BackupJob') { backupMetrics(key, before as BackupSnapshot | undefined, after as BackupSnapshot); return; }
      if (key.kind !== CLUSTER_KIND || !before) return;
      const [b, a] = [before as ClusterSnapshot, after as ClusterSnapshot];
      const known = new Set(b.context.history.map((p) => JSON.stringify(p)));
      for (const plan of a.context.history.filter((p) => !known.has(JSON.stringify(p)))) {
        const r = withDurations(plan);
        metrics.planFinished(plan.kind, plan.outcome, r.durationMs);
        log.info({ resource: `${key.kind}/${key.namespace}/${key.name}`, plan: r }, `${plan.kind} ${plan.outcome}: ${plan.from} → ${plan.to ?? '-'} in ${r.durationMs ?? '?'} ms`);
      }
    },
    ...(o.onNotice ? { onNotice: o.onNotice } : {}),
    onFinished: async (key, uid) => {
      const removed = await removeJobsOf(steps.queue, key.kind, uid);
      if (removed) log.info({ resource: `${key.kind}/${key.namespace}/${key.name}`, removed }, 'removed the queued jobs of a deleted object');
    },
  });
  holder.runtime = runtime;
  const metricsServer = await serveMetrics(metrics.registry, o.metricsPort, o.metricsHost);

  const stopping = new AbortController();
  const loop = async (everyMs: number, fn: () => Promise<void>, what: string) => {
    while (!stopping.signal.aborted) {
      try { await fn(); } catch (e) { log.error({ loop: what, err: (e as Error).message }, 'loop iteration failed'); }
      await abortableSleep(everyMs, stopping.signal).catch(() => undefined);
    }
  };
  const loops = [loop(1000, () => o.observe(runtime), 'observe')];

  return {
    runtime,
    metricsPort: (metricsServer.address() as { port: number } | null)?.port ?? o.metricsPort,
    inspectPort: inspector?.port,
    async stop() {
      stopping.abort();
      await Promise.allSettled(loops);
      await runtime.stop();
      // Graceful: the worker finishes the jobs it holds (or they are picked up again after the lock expires).
      await worker?.close();
      await steps.queue.close();
      await steps.events.close();
      metricsServer.close();
      inspectorStream?.stop();
      await inspector?.close();
    },
  };
}

export const clusterController = (runtime: Runtime) => runtime.controller(CLUSTER_KIND) as ClusterController | undefined;

export const clusterSnapshot = (runtime: Runtime, namespace: string, name: string) =>
  runtime.snapshot({ kind: CLUSTER_KIND, namespace, name }) as ClusterSnapshot | undefined;
