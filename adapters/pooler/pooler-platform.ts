// What the pooler machine's effects need from a platform: run PgBouncer for a Pooler with a given route, remove
// it, and say whether what was applied still runs. Local: supervised processes; Kubernetes: Deployment + Service.
import type { ApplyPoolerInput, PoolerApplied, PoolerRef } from '../../machines/pooler/pooler.types.js';
import type { Endpoint } from '../sql/connect.js';

/** Where server connections go: one instance (rw, the current primary), or the cluster's ready replicas (ro). */
export type PoolerRoute =
  | { kind: 'instance'; instance: string }
  | { kind: 'readOnly' }
  | null;

export interface PoolerApplyContext {
  route: PoolerRoute;
  /** A superuser connection to the primary, for the auth role and function; null while there is no primary. */
  primary: Endpoint | null;
}

export interface PoolerPlatform {
  apply(input: ApplyPoolerInput, ctx: PoolerApplyContext): Promise<PoolerApplied>;
  remove(ref: PoolerRef): Promise<void>;
  /** Every process of the applied configuration still runs (cheap: no connection). */
  running(ref: PoolerRef, instances: number): Promise<boolean>;
}

/** The target label in status (and what watchPooler compares): the instance name, or `<cluster>-ro`. */
export const routeLabel = (cluster: string, route: PoolerRoute): string | null =>
  route === null ? null : route.kind === 'instance' ? route.instance : `${cluster}-ro`;
