// What the machines' effects need from a platform (local processes or Kubernetes objects).
import type { PostgresClusterSpec } from '../crds/postgrescluster.js';
import type { ClusterRef, InstanceEffectInput } from '../machines/instance/instance.types.js';
import type { Endpoint } from './sql/connect.js';
import type { PrimaryLease } from './lease/primary-lease.js';
import type { AgentClient } from './agent-client.js';

export interface ClusterPlatform {
  provisionCluster(cluster: ClusterRef, spec: PostgresClusterSpec, signal: AbortSignal): Promise<void>;
  deprovisionCluster(cluster: ClusterRef, spec: PostgresClusterSpec, signal: AbortSignal): Promise<void>;
  createInstance(input: InstanceEffectInput, spec: PostgresClusterSpec, signal: AbortSignal): Promise<void>;
  removeInstance(input: InstanceEffectInput, spec: PostgresClusterSpec, signal: AbortSignal): Promise<void>;
  /** A superuser connection to one instance, for the operator's own SQL (slots). */
  superuserEndpoint(cluster: ClusterRef, instance: string): Promise<Endpoint>;
}

/** What the failover and switchover plans need on top: the lease, the agents, and repointing. */
export interface PlanPlatform extends ClusterPlatform {
  lease(cluster: ClusterRef): PrimaryLease;
  agent(cluster: ClusterRef, instance: string): Promise<AgentClient | null>;
  /** True only when nothing of the instance can be running (pod gone, processes dead). */
  instanceGone(cluster: ClusterRef, instance: string): Promise<boolean>;
  /** Every instance follows `newPrimary` from now on (primary_conninfo, clone source). */
  repoint(cluster: ClusterRef, spec: PostgresClusterSpec, newPrimary: string): Promise<void>;
  /** Read-write traffic reaches `newPrimary` when this resolves (Service selector, forwarder target). */
  reroute(cluster: ClusterRef, newPrimary: string): Promise<void>;
}

export { PermanentError } from '../actors/ports/errors.js';
