// Writing child objects: server-side apply with field manager `pgop` for what the operator owns outright,
// create-if-missing for what must never be regenerated (Secrets with generated passwords, PVCs), and deletes that
// treat "already gone" as done.
import { KubernetesObjectApi, PatchStrategy, type KubeConfig, type KubernetesObject } from '@kubernetes/client-node';
import { httpStatus } from './client.js';

export const FIELD_MANAGER = 'pgop';

export class K8sObjects {
  private readonly api: KubernetesObjectApi;

  constructor(kc: KubeConfig) { this.api = KubernetesObjectApi.makeApiClient(kc); }

  /** Server-side apply; `manager` splits ownership of fields that different steps set (e.g. the primary key). */
  async apply<T extends KubernetesObject>(obj: T, manager = FIELD_MANAGER): Promise<T> {
    return this.api.patch(obj, undefined, undefined, manager, true, PatchStrategy.ServerSideApply);
  }

  async applyAll(objs: KubernetesObject[]): Promise<void> {
    for (const o of objs) await this.apply(o);
  }

  /** Creates unless it exists; returns whether it created. */
  async createIfMissing<T extends KubernetesObject>(obj: T): Promise<boolean> {
    try { await this.api.create(obj, undefined, undefined, FIELD_MANAGER); return true; } catch (e) {
      if (httpStatus(e) === 409) return false;
      throw e;
    }
  }

  async read<T extends KubernetesObject>(apiVersion: string, kind: string, namespace: string, name: string): Promise<T | undefined> {
    try { return await this.api.read<T>({ apiVersion, kind, metadata: { name, namespace } } as never); } catch (e) {
      if (httpStatus(e) === 404) return undefined;
      throw e;
    }
  }

  async delete(apiVersion: string, kind: string, namespace: string, name: string, gracePeriodSeconds?: number): Promise<void> {
    try { await this.api.delete({ apiVersion, kind, metadata: { name, namespace } }, undefined, undefined, gracePeriodSeconds); } catch (e) {
      if (httpStatus(e) !== 404) throw e;
    }
  }
}
