// The registry: every kind with a controller, as its pure binding paired with its implementations factory.
// Adding a kind is one `register(...)` line here (plus its machine, binding and implementations). Kinds served by
// the CRDs but missing here get `Ready=False, reason=NotImplemented`.
import type { PostgresClusterSpec } from '../crds/postgrescluster.js';
import { definitions } from '../crds/registry.js';
import { register, type KindRegistration } from '../actors/registry.js';
import type { ChangeFeed, RuntimeView } from '../actors/binding.js';
import { postgresClusterBinding } from '../actors/bindings/postgrescluster.binding.js';
import { poolerBinding } from '../actors/bindings/pooler.binding.js';
import { createPoolerImplementations } from '../adapters/implementations/pooler.impl.js';
import type { PoolerPlatform } from '../adapters/pooler/pooler-platform.js';
import type { ClusterSnapshot } from '../machines/cluster/cluster.selectors.js';
import type { ClusterRef } from '../machines/instance/instance.types.js';
import type { QueuedStepDeps } from '../actors/queues/from-queued-step.js';
import type { ResourceKey, ResourceReader, OwnedResourceWriter, ResourceWriter } from '../actors/ports/resource-store.js';
import { createClusterImplementations, type ClusterDeps } from '../adapters/implementations/cluster.impl.js';
import type { PlanPlatform } from '../adapters/platform.js';
import type { Logger } from '../adapters/logging/logger.js';
import { backupJobBinding } from '../actors/bindings/backupjob.binding.js';
import { createBackupImplementations } from '../adapters/implementations/backup.impl.js';
import { restoreVerifyBinding } from '../actors/bindings/restore-verify.binding.js';
import { createRestoreVerifyImplementations } from '../adapters/implementations/restore-verify.impl.js';
import type { BackupHosts } from '../adapters/backup/backup-step.js';
import type { SecretStore } from '../adapters/secrets/secret-store.js';
import { postgresUserBinding } from '../actors/bindings/postgresuser.binding.js';
import { createUserImplementations } from '../adapters/implementations/user.impl.js';
import { postgresDatabaseBinding } from '../actors/bindings/postgresdatabase.binding.js';
import { createDatabaseImplementations } from '../adapters/implementations/database.impl.js';
import type { SqlObjectDeps } from '../adapters/implementations/sql-object-deps.js';
import { shardRangeBinding } from '../actors/bindings/shardrange.binding.js';
import { createShardRangeImplementations } from '../adapters/implementations/shardrange.impl.js';
import { imageCatalogBinding, clusterImageCatalogBinding } from '../actors/bindings/imagecatalog.binding.js';
import { scheduledBackupBinding } from '../actors/bindings/scheduledbackup.binding.js';
import { createScheduledBackupImplementations } from '../adapters/implementations/scheduled-backup.impl.js';

/** What every kind's implementations may draw on; the operator builds it once per platform. */
export interface OperatorDeps {
  platform: PlanPlatform;
  store: ResourceReader;
  /** Objects the operator owns (the shards and ShardRanges of a sharded cluster). */
  writer: OwnedResourceWriter;
  /** Objects controllers create and delete themselves (a ScheduledBackup's BackupJobs). */
  objects: ResourceWriter;
  /** The effects' logger. */
  log: Logger;
  steps: QueuedStepDeps;
  onStep?: (plan: 'failover' | 'switchover', step: string) => void;
  /** PgBouncer for Poolers on this platform (absent: Poolers report that they are not supported here). */
  poolers?: PoolerPlatform;
  /** Platform status fields of a cluster (local endpoint addresses). */
  clusterExtraStatus?: (key: ResourceKey) => Promise<Record<string, unknown>>;
  /** Where backups find the instances (local platform); absent: backups fail with a clear reason. */
  backupHosts?: BackupHosts;
  /** Secrets the SQL object kinds read (user passwords) and write (generated passwords). */
  secrets: SecretStore;
}

/** The SQL object kinds (PostgresUser, PostgresDatabase) act as the superuser on the cluster's primary. */
export const sqlObjectDeps = (deps: OperatorDeps, runtime?: RuntimeView): SqlObjectDeps => ({
  store: deps.store, secrets: deps.secrets, log: deps.log,
  endpoint: (cluster, instance) => deps.platform.superuserEndpoint(cluster, instance),
  ...(runtime ? { primaries: {
    changes: runtime.onChange,
    currentPrimary: (c: ClusterRef) => (runtime.snapshot(clusterKey(c)) as ClusterSnapshot | undefined)?.context.currentPrimary ?? null,
  } } : {}),
});

export const clusterKey = (c: ClusterRef): ResourceKey => ({ kind: 'PostgresCluster', namespace: c.namespace, name: c.name });

/** The cluster's stored spec, read when an effect runs (it may run after a restart). */
export const storedClusterSpec = (store: ResourceReader) => async (c: ClusterRef): Promise<PostgresClusterSpec> => {
  const r = await store.get(clusterKey(c));
  if (!r) throw new Error(`PostgresCluster ${c.namespace}/${c.name} not found`);
  return r.spec as PostgresClusterSpec;
};

export function clusterDeps(deps: OperatorDeps, currentPrimary: ClusterDeps['currentPrimary'], changes?: ChangeFeed): ClusterDeps {
  return {
    platform: deps.platform, log: deps.log, steps: deps.steps, clusterSpec: storedClusterSpec(deps.store), currentPrimary,
    shards: { store: deps.store, writer: deps.writer, log: deps.log },
    images: { store: deps.store, ...(changes ? { changes } : {}) },
    ...(deps.onStep ? { onStep: deps.onStep } : {}),
  };
}

export const registrations: readonly KindRegistration<OperatorDeps>[] = [
  register(postgresClusterBinding,
    (deps: OperatorDeps, runtime) => createClusterImplementations(clusterDeps(deps,
      async (c) => (runtime.snapshot(clusterKey(c)) as ClusterSnapshot | undefined)?.context.currentPrimary ?? null, runtime.onChange)),
    { extraStatus: async (key, deps) => deps.clusterExtraStatus?.(key) ?? {} }),
  register(backupJobBinding, (deps: OperatorDeps) => createBackupImplementations({ steps: deps.steps })),
  register(restoreVerifyBinding, (deps: OperatorDeps) => createRestoreVerifyImplementations({ steps: deps.steps })),
  register(scheduledBackupBinding, (deps: OperatorDeps, runtime) => createScheduledBackupImplementations({ store: deps.store, objects: deps.objects, changes: runtime.onChange })),
  register(poolerBinding, (deps: OperatorDeps, runtime) => createPoolerImplementations({
    poolers: deps.poolers, platform: deps.platform, log: deps.log,
    clusterSnapshot: (c) => runtime.snapshot(clusterKey(c)) as ClusterSnapshot | undefined,
  })),
  register(postgresUserBinding, (deps: OperatorDeps, runtime) => createUserImplementations(sqlObjectDeps(deps, runtime))),
  register(postgresDatabaseBinding, (deps: OperatorDeps, runtime) => createDatabaseImplementations(sqlObjectDeps(deps, runtime))),
  register(shardRangeBinding, (deps: OperatorDeps) => createShardRangeImplementations({ store: deps.store })),
  // No effects: the catalog machine only checks entries and publishes them in status.
  register(imageCatalogBinding, () => ({})),
  register(clusterImageCatalogBinding, () => ({})),
];

/** Every kind the CRDs serve. */
export const servedKinds: readonly string[] = definitions.map((d) => d.kind);
