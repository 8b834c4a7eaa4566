// Kubernetes Events on the PostgresCluster for what a user should see in `kubectl describe`: phase changes and
// finished failovers/switchovers. Best effort: an Event that cannot be written is logged, never retried.
import { CoreV1Api, V1MicroTime, type KubeConfig } from '@kubernetes/client-node';
import { randomBytes } from 'node:crypto';
import { API_VERSION } from '../../crds/definition.js';
import type { ResourceKey } from '../../actors/ports/resource-store.js';
import type { Logger } from '../logging/logger.js';

export class K8sEvents {
  private readonly core: CoreV1Api;

  constructor(kc: KubeConfig, private readonly log: Logger, private readonly instance = 'pgop-operator') {
    this.core = kc.makeApiClient(CoreV1Api);
  }

  record(key: ResourceKey, e: { type: 'Normal' | 'Warning'; reason: string; message: string }): void {
    const now = new Date();
    this.core.createNamespacedEvent({
      namespace: key.namespace,
      body: {
        metadata: { name: `${key.name}.${now.getTime().toString(16)}${randomBytes(2).toString('hex')}`, namespace: key.namespace },
        involvedObject: { apiVersion: API_VERSION, kind: key.kind, name: key.name, namespace: key.namespace },
        type: e.type, reason: e.reason, message: e.message,
        firstTimestamp: now, lastTimestamp: now, count: 1, eventTime: new V1MicroTime(now.getTime()),
        reportingComponent: 'pgop', reportingInstance: this.instance, action: 'Reconcile', source: { component: 'pgop' },
      },
    }).catch((err: unknown) => this.log.warn({ resource: key, reason: e.reason, err: (err as Error).message }, 'could not record an Event'));
  }
}
