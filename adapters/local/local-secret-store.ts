// v1/Secret objects in the local store, as `pgop local apply` stores them (crds/secret.ts admits them).
import type { RedisResourceStore } from './redis-store.js';
import type { SecretObject } from '../../crds/secret.js';
import type { SecretStore, SecretWrite, StoredSecret } from '../secrets/secret-store.js';

const decode = (s: SecretObject): StoredSecret => ({
  name: s.metadata.name, type: s.type, resourceVersion: s.metadata.resourceVersion ?? '',
  annotations: s.metadata.annotations ?? {},
  values: Object.fromEntries(Object.entries(s.data ?? {}).map(([k, v]) => [k, Buffer.from(v, 'base64').toString('utf8')])),
});

export class LocalSecretStore implements SecretStore {
  constructor(private readonly store: RedisResourceStore) {}

  async read(namespace: string, name: string): Promise<StoredSecret | undefined> {
    const s = await this.store.get({ kind: 'Secret', namespace, name }) as unknown as SecretObject | undefined;
    return s ? decode(s) : undefined;
  }

  async write(namespace: string, name: string, w: SecretWrite, expectedVersion?: string): Promise<StoredSecret> {
    const current = await this.read(namespace, name);
    if (expectedVersion !== undefined && current && current.resourceVersion !== expectedVersion) {
      throw new Error(`Secret ${namespace}/${name} changed meanwhile; retrying`);
    }
    await this.store.apply({
      apiVersion: 'v1', kind: 'Secret', metadata: { name, namespace, ...(w.annotations ? { annotations: w.annotations } : {}), ...(w.labels ? { labels: w.labels } : {}) },
      type: w.type, stringData: w.values,
    });
    const after = await this.read(namespace, name);
    if (!after) throw new Error(`Secret ${namespace}/${name} vanished after writing it`);
    return after;
  }
}
