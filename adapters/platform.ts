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
  /** The bearer token the cluster's agents require (what `agent()` clients send). */
  agentToken(cluster: ClusterRef): Promise<string>;
  /** True only when nothing of the instance can be running (pod gone, processes dead). */
  instanceGone(cluster: ClusterRef, instance: string): Promise<boolean>;
  /** Every instance follows `newPrimary` from now on (primary_conninfo, clone source). */
  repoint(cluster: ClusterRef, spec: PostgresClusterSpec, newPrimary: string): Promise<void>;
  /**
   * Takes an instance out of read-write routing now, before anything else is done to it (the Pod's role label, the
   * forwarder's target). Returns what was done, for the plan's record.
   */
  unroute(cluster: ClusterRef, instance: string): Promise<string>;
  /**
   * Fences an instance that does not answer without asking it: on the local platform every one of its processes is
   * killed (STONITH), on Kubernetes its Pod is deleted with a zero grace period. Only called once the primary
   * lease has expired. Returns what was done, for the plan's record.
   */
  fenceUnresponsive(cluster: ClusterRef, instance: string): Promise<string>;
  /** Read-write traffic reaches `newPrimary` when this resolves (Service selector, forwarder target). */
  reroute(cluster: ClusterRef, newPrimary: string): Promise<void>;

  // --- rolling updates (ADR 0026); a platform without them never rolls (its clusters resolve no image) ---
  /** Where this platform runs `image` (locally a PostgreSQL bin directory); throws PermanentError when it cannot. */
  imageLocation?(image: string | null, spec: PostgresClusterSpec): string;
  /** Every instance gets the spec's configuration and reloads it (settings needing a restart become pending). */
  applyConfiguration?(cluster: ClusterRef, spec: PostgresClusterSpec, primary: string | null, generation: number): Promise<void>;
  /** Re-creates one instance on `image` with the spec's configuration; returns once its agent is started again. */
  restartInstance?(cluster: ClusterRef, spec: PostgresClusterSpec, instance: string, image: string, primary: string | null): Promise<void>;
}

export { PermanentError } from '../actors/ports/errors.js';
