// Level-triggered upkeep of a cluster's Kubernetes objects that follow its spec without a step of their own:
// the PodDisruptionBudgets follow `instances` (the replica budget exists only while there are replicas), and the
// PVCs follow `storage.size` (raised online where the StorageClass allows expansion). Runs on the operator's
// observation beat; what it finds shows in status.storage and the StorageResize condition.
import { CoreV1Api, StorageV1Api, PatchStrategy, setHeaderOptions, type KubeConfig, type V1PersistentVolumeClaim } from '@kubernetes/client-node';
import type { ResourceStore, ResourceKey } from '../../actors/ports/resource-store.js';
import type { PostgresClusterSpec } from '../../crds/postgrescluster.js';
import { API_VERSION } from '../../crds/definition.js';
import type { Logger } from '../logging/logger.js';
import { K8sObjects } from './objects.js';
import { LABEL } from './specs/labels.js';
import { disruptionBudgets } from './specs/cluster-objects.js';
import { decideResize, type ObservedVolume, type ResizeCondition, type StorageStatus } from './specs/volume-resize.js';
import { httpStatus } from './client.js';

const DEFAULT_CLASS = 'storageclass.kubernetes.io/is-default-class';

export interface ClusterUpkeepStatus { storage: StorageStatus; conditions: (ResizeCondition & { lastTransitionTime: string })[] }

export class K8sClusterUpkeep {
  private readonly core: CoreV1Api;
  private readonly storage: StorageV1Api;
  private readonly objects: K8sObjects;
  /** The last status written per cluster, also handed to every status write of the cluster actor. */
  private readonly last = new Map<string, ClusterUpkeepStatus>();
  /** Budgets applied per cluster (instances, when): re-applied on a change, or now and then to repair drift. */
  private readonly budgetsApplied = new Map<string, { instances: number; at: number }>();
  private ranAt = 0;

  constructor(kc: KubeConfig, private readonly store: ResourceStore, private readonly log: Logger,
    private readonly everyMs = Number(process.env.PGOP_UPKEEP_MS ?? 5000), private readonly repairMs = 5 * 60_000) {
    this.core = kc.makeApiClient(CoreV1Api);
    this.storage = kc.makeApiClient(StorageV1Api);
    this.objects = new K8sObjects(kc);
  }

  /** What the cluster's status carries from this upkeep (merged into the actor's status writes). */
  statusOf(key: ResourceKey): Record<string, unknown> {
    const s = this.last.get(`${key.namespace}/${key.name}`);
    return s ? { storage: s.storage, conditions: s.conditions } : {};
  }

  /**
   * `settled` says whether the cluster's machine holds a steady state (Ready or Degraded): never while it
   * provisions or deletes, so nothing here recreates a budget that deprovisioning has just removed.
   */
  async tick(settled: (key: ResourceKey) => boolean): Promise<void> {
    // On the observation beat, but not at its pace: a few requests per cluster every few seconds are plenty.
    if (Date.now() - this.ranAt < this.everyMs) return;
    this.ranAt = Date.now();
    for (const r of await this.store.list('PostgresCluster')) {
      if (r.metadata.deletionTimestamp || !r.metadata.uid) continue;
      const key: ResourceKey = { kind: 'PostgresCluster', namespace: r.metadata.namespace ?? 'default', name: r.metadata.name };
      const spec = r.spec as PostgresClusterSpec;
      try {
        if (!settled(key)) continue;
        await this.budgets(key, r.metadata.uid, spec.instances);
        await this.resize(key, spec);
      } catch (e) {
        this.log.warn({ cluster: `${key.namespace}/${key.name}`, err: (e as Error).message }, 'cluster upkeep failed; retried next beat');
      }
    }
  }

  private async budgets(key: ResourceKey, uid: string, instances: number): Promise<void> {
    const id = `${key.namespace}/${key.name}/${uid}`;
    const done = this.budgetsApplied.get(id);
    if (done && done.instances === instances && Date.now() - done.at < this.repairMs) return;
    const owner = { apiVersion: API_VERSION, kind: 'PostgresCluster', name: key.name, uid };
    const want = disruptionBudgets(key.name, key.namespace, owner, instances);
    for (const pdb of want) await this.objects.apply(pdb);
    // One instance has no replica to protect: a leftover replica budget would block node drains for nothing.
    if (!want.some((p) => p.metadata.name === key.name)) await this.objects.delete('policy/v1', 'PodDisruptionBudget', key.namespace, key.name);
    this.budgetsApplied.set(id, { instances, at: Date.now() });
  }

  private async resize(key: ResourceKey, spec: PostgresClusterSpec): Promise<void> {
    const size = spec.storage?.size ?? '1Gi';
    const pvcs = (await this.core.listNamespacedPersistentVolumeClaim({ namespace: key.namespace, labelSelector: `${LABEL.cluster}=${key.name},${LABEL.instance}` }))
      .items.filter((p) => !p.metadata?.deletionTimestamp);
    if (!pvcs.length) return;
    const className = pvcs[0]?.spec?.storageClassName ?? spec.storage?.storageClass ?? (await this.defaultClass());
    const expandable = className ? await this.storage.readStorageClass({ name: className }).then((c) => c.allowVolumeExpansion === true, (e: unknown) => {
      if (httpStatus(e) === 404) return false;
      throw e;
    }) : null;
    const decision = decideResize(size, pvcs.map(observe), expandable, className ?? null);
    for (const name of decision.patch) {
      await this.core.patchNamespacedPersistentVolumeClaim({ namespace: key.namespace, name, body: { spec: { resources: { requests: { storage: size } } } } },
        setHeaderOptions('Content-Type', PatchStrategy.MergePatch));
      this.log.info({ cluster: `${key.namespace}/${key.name}`, pvc: name, size }, 'volume expansion requested');
    }
    const id = `${key.namespace}/${key.name}`;
    const prev = this.last.get(id);
    const prevCond = prev?.conditions[0];
    const since = prevCond && prevCond.status === decision.condition.status ? prevCond.lastTransitionTime : new Date().toISOString();
    const next: ClusterUpkeepStatus = { storage: decision.status, conditions: [{ ...decision.condition, lastTransitionTime: since }] };
    if (JSON.stringify(next) === JSON.stringify(prev)) return;
    this.last.set(id, next);
    await this.store.patchStatus(key, (s) => ({
      ...s, storage: next.storage,
      conditions: [...((s.conditions as { type: string }[] | undefined) ?? []).filter((c) => c.type !== 'StorageResize'), ...next.conditions],
    }));
  }

  private async defaultClass(): Promise<string | undefined> {
    const classes = (await this.storage.listStorageClass()).items;
    return classes.find((c) => c.metadata?.annotations?.[DEFAULT_CLASS] === 'true')?.metadata?.name;
  }
}

function observe(p: V1PersistentVolumeClaim): ObservedVolume {
  return {
    name: p.metadata?.name ?? '',
    requested: p.spec?.resources?.requests?.storage ?? '0',
    ...(p.status?.capacity?.storage ? { capacity: p.status.capacity.storage } : {}),
    bound: p.status?.phase === 'Bound',
    resizeConditions: (p.status?.conditions ?? []).filter((c) => c.status === 'True').map((c) => c.type),
  };
}
