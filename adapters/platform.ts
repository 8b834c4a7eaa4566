// What the machines' effects need from a platform (local processes or Kubernetes objects).
import type { PostgresClusterSpec } from '../crds/postgrescluster.js';
import type { ClusterRef, InstanceEffectInput } from '../machines/instance/instance.types.js';
import type { Endpoint } from './sql/connect.js';

export interface ClusterPlatform {
  provisionCluster(cluster: ClusterRef, spec: PostgresClusterSpec, signal: AbortSignal): Promise<void>;
  deprovisionCluster(cluster: ClusterRef, spec: PostgresClusterSpec, signal: AbortSignal): Promise<void>;
  createInstance(input: InstanceEffectInput, spec: PostgresClusterSpec, signal: AbortSignal): Promise<void>;
  removeInstance(input: InstanceEffectInput, spec: PostgresClusterSpec, signal: AbortSignal): Promise<void>;
  /** A superuser connection to one instance, for the operator's own SQL (slots). */
  superuserEndpoint(cluster: ClusterRef, instance: string): Promise<Endpoint>;
}

/** Errors that retrying cannot fix: the machine should fail and say why. */
export class PermanentError extends Error {
  constructor(message: string) { super(message); this.name = 'PermanentError'; }
}
