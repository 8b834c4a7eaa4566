// What the kubectl plugin needs from the apiserver: the current kubeconfig (as kubectl reads it), PostgresClusters
// and their objects, annotations written with a merge patch (the operator watches them).
import { CoreV1Api, CustomObjectsApi, KubeConfig, PatchStrategy, setHeaderOptions, type V1Pod } from '@kubernetes/client-node';
import { GROUP, VERSION } from '../../crds/definition.js';
import type { PostgresCluster } from '../../crds/postgrescluster.js';
import { LABEL } from '../../adapters/k8s/specs/labels.js';
import { httpStatus } from '../../adapters/k8s/client.js';

const mergePatch = setHeaderOptions('Content-Type', PatchStrategy.MergePatch);

export interface KubeTarget { kc: KubeConfig; namespace: string }

/** kubectl's own resolution: $KUBECONFIG, else ~/.kube/config, else in-cluster; the namespace from the context. */
export function kubeTarget(o: { kubeconfig?: string; context?: string; namespace?: string }): KubeTarget {
  const kc = new KubeConfig();
  if (o.kubeconfig) kc.loadFromFile(o.kubeconfig); else kc.loadFromDefault();
  if (o.context) kc.setCurrentContext(o.context);
  const namespace = o.namespace ?? kc.getContextObject(kc.getCurrentContext())?.namespace ?? 'default';
  return { kc, namespace };
}

export interface OwnedObject { metadata: { name: string; creationTimestamp?: string }; spec?: Record<string, unknown>; status?: Record<string, unknown> }

export class KubeCluster {
  readonly core: CoreV1Api;
  readonly custom: CustomObjectsApi;

  constructor(readonly t: KubeTarget, readonly name: string) {
    this.core = t.kc.makeApiClient(CoreV1Api);
    this.custom = t.kc.makeApiClient(CustomObjectsApi);
  }

  async get(): Promise<PostgresCluster> {
    try {
      return await this.custom.getNamespacedCustomObject({ group: GROUP, version: VERSION, namespace: this.t.namespace, plural: 'postgresclusters', name: this.name }) as PostgresCluster;
    } catch (e) {
      if (httpStatus(e) === 404) throw new Error(`postgrescluster "${this.name}" not found in namespace ${this.t.namespace}`);
      throw e;
    }
  }

  /** A merge patch of annotations; null removes one. */
  async annotate(annotations: Record<string, string | null>): Promise<void> {
    await this.custom.patchNamespacedCustomObject({ group: GROUP, version: VERSION, namespace: this.t.namespace, plural: 'postgresclusters', name: this.name, body: { metadata: { annotations } } }, mergePatch);
  }

  async pods(): Promise<V1Pod[]> {
    return (await this.core.listNamespacedPod({ namespace: this.t.namespace, labelSelector: `${LABEL.cluster}=${this.name},${LABEL.instance}` })).items
      .filter((p) => !p.metadata?.deletionTimestamp);
  }

  async secret(name: string, key: string): Promise<string | undefined> {
    try {
      const s = await this.core.readNamespacedSecret({ namespace: this.t.namespace, name });
      const v = s.data?.[key];
      return v === undefined ? undefined : Buffer.from(v, 'base64').toString('utf8');
    } catch (e) {
      if (httpStatus(e) === 404 || httpStatus(e) === 403) return undefined;
      throw e;
    }
  }

  /** Objects of a kind that refer to this cluster (spec.cluster.name). */
  async list(plural: string): Promise<OwnedObject[]> {
    const r = await this.custom.listNamespacedCustomObject({ group: GROUP, version: VERSION, namespace: this.t.namespace, plural }) as { items: OwnedObject[] };
    return r.items.filter((i) => (i.spec?.cluster as { name?: string } | undefined)?.name === this.name);
  }
}
