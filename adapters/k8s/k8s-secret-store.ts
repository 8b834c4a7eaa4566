// Kubernetes Secrets for the SQL controllers: read a user's basic-auth Secret, create or replace a generated one.
import { CoreV1Api, type KubeConfig, type V1Secret } from '@kubernetes/client-node';
import { httpStatus } from './client.js';
import type { SecretStore, SecretWrite, StoredSecret } from '../secrets/secret-store.js';

const decode = (s: V1Secret): StoredSecret => ({
  name: s.metadata?.name ?? '', type: s.type ?? 'Opaque', resourceVersion: s.metadata?.resourceVersion ?? '',
  annotations: s.metadata?.annotations ?? {},
  values: Object.fromEntries(Object.entries(s.data ?? {}).map(([k, v]) => [k, Buffer.from(v, 'base64').toString('utf8')])),
});

export class K8sSecretStore implements SecretStore {
  private readonly core: CoreV1Api;
  constructor(kc: KubeConfig) { this.core = kc.makeApiClient(CoreV1Api); }

  async read(namespace: string, name: string): Promise<StoredSecret | undefined> {
    try { return decode(await this.core.readNamespacedSecret({ namespace, name })); } catch (e) {
      if (httpStatus(e) === 404) return undefined;
      throw e;
    }
  }

  async write(namespace: string, name: string, w: SecretWrite, expectedVersion?: string): Promise<StoredSecret> {
    const body: V1Secret = {
      apiVersion: 'v1', kind: 'Secret', type: w.type,
      metadata: { name, namespace, ...(w.annotations ? { annotations: w.annotations } : {}), ...(w.labels ? { labels: w.labels } : {}), ...(expectedVersion ? { resourceVersion: expectedVersion } : {}) },
      stringData: w.values,
    };
    if (expectedVersion === undefined) {
      try { return decode(await this.core.createNamespacedSecret({ namespace, body })); } catch (e) {
        if (httpStatus(e) !== 409) throw e;
        const existing = await this.read(namespace, name);
        if (!existing) throw e;
        return existing;
      }
    }
    return decode(await this.core.replaceNamespacedSecret({ namespace, name, body }));
  }
}
