import type { PoolerSpec } from '../../crds/pooler.js';

export interface PoolerRef { namespace: string; name: string }

/** What one apply left running, as the effect reports it (plain JSON). */
export interface PoolerApplied {
  /** The instance (rw) or endpoint (ro) server connections go to; null while the cluster has no primary to route to. */
  target: string | null;
  paused: boolean;
  instances: number;
  readyInstances: number;
  /** Where clients connect (host:port locally, the Service's DNS name on Kubernetes). */
  endpoint: string;
}

export interface PoolerInput extends PoolerRef { spec: PoolerSpec; generation: number }

export interface PoolerContext extends PoolerInput {
  applied: PoolerApplied | null;
  appliedGeneration: number | null;
  error: string | null;
  /** A change arrived while an apply ran: apply once more when it ends. */
  again: boolean;
}

export type PoolerEvent =
  | { type: 'spec.changed'; spec: PoolerSpec; generation: number }
  /** The cluster's routes (or anything the pooler depends on) may have changed: apply again, idempotently. */
  | { type: 'pooler.sync' }
  | { type: 'pooler.deleted' };

export type ApplyPoolerInput = PoolerInput;

export interface WatchPoolerInput extends PoolerInput { applied: PoolerApplied | null }
