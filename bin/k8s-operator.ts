// `pgop operator --platform kubernetes`: leader-elected on a Lease, the cluster actors persisted in the
// PostgresClusters' status, instance Pods observed through their agents, lost Pods recreated from their PVCs.
// BullMQ needs Redis (REDIS_URL; the Helm chart runs one or takes an external URL).
import { hostname } from 'node:os';
import { createLogger } from '../adapters/logging/logger.js';
import { loadKubeConfig } from '../adapters/k8s/client.js';
import { K8sLeaseElector } from '../adapters/leader/k8s-lease-elector.js';
import { lead, untilStopped } from '../adapters/leader/lead.js';
import { K8sResourceStore } from '../adapters/k8s/k8s-resource-store.js';
import { K8sPlatform, DEFAULT_IMAGE_REPOSITORY } from '../adapters/k8s/k8s-platform.js';
import { K8sPoolers } from '../adapters/k8s/k8s-poolers.js';
import { K8sClusterUpkeep } from '../adapters/k8s/k8s-cluster-upkeep.js';
import { K8sRouters } from '../adapters/k8s/k8s-routers.js';
import { shardingFromShardRanges } from '../router/shard-map-source.js';
import { tlsPolicyFrom } from '../adapters/certs/tls-policy.js';
import { checkNamespace, operatorPeer } from '../adapters/k8s/specs/operator-peer.js';
import { K8sSecretStore } from '../adapters/k8s/k8s-secret-store.js';
import { K8sEvents } from '../adapters/k8s/k8s-events.js';
import { InstanceObserver } from '../adapters/instance-observer.js';
import { k8sInstanceSource, type ClusterSnapshots } from '../adapters/k8s/k8s-instance-source.js';
import type { Runtime } from '../actors/runtime.js';
import { startOperator, clusterSnapshot } from './operator.js';
import { selectPhase } from '../machines/cluster/cluster.selectors.js';
import { serveMetrics } from '../adapters/metrics/metrics-server.js';
import { Registry } from 'prom-client';
import { certificateRotation } from '../adapters/certs/k8s-rotation.js';
import { x509Builders } from '../adapters/certs/local-certificates.js';

const METRICS_HOST = process.env.PGOP_METRICS_HOST ?? '0.0.0.0';
const PRIMARY_RECREATE_GRACE_MS = Number(process.env.PGOP_PRIMARY_RECREATE_GRACE_MS ?? 60_000);

export interface KubernetesOperatorOptions {
  kubeconfig?: string;
  /** Namespace of the leader-election Lease (the operator's own namespace). */
  namespace: string;
  metricsPort: number;
  inspectPort?: number;
  /** Only PostgresClusters in this namespace; empty: every namespace. */
  watchNamespace?: string;
}

const clusterPhase = (runtime: Runtime, namespace: string, name: string) => {
  const snap = clusterSnapshot(runtime, namespace, name);
  return snap ? selectPhase(snap) : null;
};

/** Two platform contributions to a cluster's status: fields side by side, conditions joined. */
function mergeExtraStatus(a: Record<string, unknown>, b: Record<string, unknown>): Record<string, unknown> {
  const conditions = [...((a.conditions as unknown[] | undefined) ?? []), ...((b.conditions as unknown[] | undefined) ?? [])];
  return { ...a, ...b, ...(conditions.length ? { conditions } : {}) };
}

export async function runKubernetesOperator(o: KubernetesOperatorOptions): Promise<void> {
  const redisUrl = process.env.REDIS_URL;
  if (!redisUrl) throw new Error('REDIS_URL is not set: the operator keeps its step queues in Redis (the Helm chart sets it; e.g. REDIS_URL=redis://pgop-redis:6379)');
  // Checked before leading: the clusters' NetworkPolicies admit the operator by these (the chart sets the labels).
  const peer = operatorPeer(o.namespace, process.env.PGOP_OPERATOR_LABELS, process.env.PGOP_METRICS_NAMESPACE || undefined);
  if (o.watchNamespace) checkNamespace(o.watchNamespace, '--watch-namespace (PGOP_WATCH_NAMESPACE)');
  const identity = `${process.env.POD_NAME ?? hostname()}-${process.pid}`;
  const log = createLogger('operator', { platform: 'kubernetes', identity });
  const kc = loadKubeConfig(o.kubeconfig);
  // Loading the X.509 library blocks the event loop for a moment: do it before holding any lease.
  await x509Builders();
  const elector = new K8sLeaseElector(kc, identity, o.namespace, 'pgop-operator', Number(process.env.PGOP_LEADER_LEASE_SECONDS ?? 15));
  if (o.watchNamespace) log.info({ watchNamespace: o.watchNamespace }, 'watching one namespace');

  // A standby answers its liveness probe too; the leader's metrics server takes the port over.
  const standbyHealth = await serveMetrics(new Registry(), o.metricsPort, METRICS_HOST);
  const stopHolding = await lead(elector, log, { namespace: o.namespace });
  if (!stopHolding) { standbyHealth.close(); return; }
  const port = (standbyHealth.address() as { port: number } | null)?.port ?? o.metricsPort;
  await new Promise((r) => standbyHealth.close(r));

  const store = new K8sResourceStore(kc, log.child({ component: 'store' }), undefined, o.watchNamespace ?? '');
  const platform = new K8sPlatform(kc, peer);
  const events = new K8sEvents(kc, log, identity);
  let observer: InstanceObserver | undefined;
  const certificates = certificateRotation(store, platform, log);
  // PodDisruptionBudgets follow `instances`, PVCs follow `storage.size`; their status joins the cluster's.
  const upkeep = new K8sClusterUpkeep(kc, store, log.child({ component: 'upkeep' }));
  // Sharded clusters' routers: a Deployment of `pgop router --kubernetes` pods, the operator's own image unless the
  // chart names another (values router.image).
  const routers = new K8sRouters(kc, store, shardingFromShardRanges, process.env.PGOP_ROUTER_IMAGE ?? `${DEFAULT_IMAGE_REPOSITORY}:pg17`,
    tlsPolicyFrom(process.env), log.child({ component: 'routers' }), undefined, (ref, instance) => platform.superuserEndpoint(ref, instance));
  const snapshots = (runtime: Runtime): ClusterSnapshots => () => runtime.keys('PostgresCluster').flatMap(({ namespace, name }) => {
    const snap = clusterSnapshot(runtime, namespace, name);
    return snap ? [{ ref: { namespace, name }, snap }] : [];
  });
  const source = (runtime: Runtime) => k8sInstanceSource(snapshots(runtime), platform, log, PRIMARY_RECREATE_GRACE_MS);

  const operator = await startOperator({
    store, platform, redisUrl, log, extraStatus: async (key) => mergeExtraStatus(upkeep.statusOf(key), routers.statusOf(key)),
    // The pooler pods run `pgop pooler`: the operator's own image unless the chart names another (values pooler.image).
    poolers: new K8sPoolers(kc, process.env.PGOP_POOLER_IMAGE ?? `${DEFAULT_IMAGE_REPOSITORY}:pg17`, log.child({ component: 'poolers' })), metricsPort: port, metricsHost: METRICS_HOST, secrets: new K8sSecretStore(kc),
    ...(o.inspectPort !== undefined ? { inspectPort: o.inspectPort } : {}),
    ...(process.env.PGOP_CRASH_AT ? { crashAt: process.env.PGOP_CRASH_AT } : {}),
    observe: async (runtime) => {
      observer ??= new InstanceObserver(source(runtime), platform, (key, event) => runtime.send(key, event));
      await observer.tick();
      await certificates.tick();
      await routers.tick().catch((e: unknown) => log.warn({ err: (e as Error).message }, 'router sync failed'));
      await upkeep.tick((key) => {
        const phase = clusterPhase(runtime, key.namespace, key.name);
        return phase === 'Ready' || phase === 'Degraded';
      });
    },
    onNotice: (key, notice) => events.record(key, notice),
  });
  log.info({ clusters: operator.runtime.keys('PostgresCluster').length, metricsPort: operator.metricsPort }, 'operator started');

  await untilStopped(log);
  await operator.stop();
  observer?.stop();
  stopHolding();
  await elector.release();
  log.info('operator stopped');
  log.flush();
  setTimeout(() => process.exit(0), 100);
}
