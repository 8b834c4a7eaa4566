// The Kubernetes operator's renewal beat: every PGOP_TLS_CHECK_MS (default 10 s) each live cluster's server
// certificate is checked and renewed when due, and at once when one of its Pods has a new IP (PgBouncer and
// pgBackRest verify the primary by it). The agents pick the new Secret up on their next spec refresh.
import type { ResourceStore } from '../../actors/ports/resource-store.js';
import type { PostgresClusterSpec } from '../../crds/postgrescluster.js';
import type { K8sPlatform } from '../k8s/k8s-platform.js';
import type { Logger } from '../logging/logger.js';

export function certificateRotation(store: ResourceStore, platform: K8sPlatform, log: Logger, everyMs = Number(process.env.PGOP_TLS_CHECK_MS ?? 10_000)) {
  let checkedAt = 0;
  return {
    async tick(): Promise<void> {
      const due = Date.now() - checkedAt >= everyMs;
      const moved = platform.clustersWithNewAddresses();
      if (!due && !moved.size) return;
      if (due) checkedAt = Date.now();
      const live = new Set<string>();
      for (const r of await store.list('PostgresCluster')) {
        const cluster = { namespace: r.metadata.namespace ?? 'default', name: r.metadata.name };
        const key = `${cluster.namespace}/${cluster.name}`;
        if (r.metadata.deletionTimestamp) continue;
        live.add(key);
        if (!due && !moved.has(key)) continue;
        try {
          const result = await platform.maintainCertificates(cluster, r.spec as PostgresClusterSpec);
          if (result?.issued) log.info({ cluster: `${cluster.namespace}/${cluster.name}`, reason: result.reason, serial: result.serial, notAfter: result.notAfter }, 'server certificate issued');
        } catch (e) {
          // One cluster's trouble (a missing BYO Secret) must not stop the others' renewals; it is retried next beat.
          log.warn({ cluster: `${cluster.namespace}/${cluster.name}`, err: (e as Error).message }, 'certificate check failed');
        }
      }
      for (const key of moved) if (!live.has(key)) platform.forgetAddresses(key);
    },
  };
}
