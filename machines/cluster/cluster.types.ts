import type { PostgresClusterSpec } from '../../crds/postgrescluster.js';
import type { InstanceObservation } from '../shared/observation.js';
import type { BootstrapMode, ClusterRef, InstancePhase, StepProgress } from '../instance/instance.types.js';
import type { PlanOutput } from '../failover/failover.types.js';
import type { MemberRolloutFacts, RolloutContext, RolloutEvent } from './rollout.types.js';

export interface Member extends MemberRolloutFacts {
  name: string;
  serial: number;
  bootstrap: BootstrapMode;
  phase: InstancePhase;
  reason: string | null;
  progress?: StepProgress | null;
}

export interface ClusterInput {
  namespace: string;
  name: string;
  /** metadata.uid of the custom object: a recreated object of the same name is a different cluster. */
  uid: string;
  spec: PostgresClusterSpec;
  generation: number;
}

/** One shard of a sharded cluster as its own PostgresCluster reports it. */
export interface ShardObservation { shard: string; cluster: string; phase: string; readyInstances: number }

export interface ClusterContext extends ClusterInput {
  /** Ordered by serial; the serial never repeats, so a removed replica's name is never reused. */
  members: Member[];
  nextSerial: number;
  currentPrimary: string | null;
  /** True once the cluster has been Ready; later scale-ups report Scaling, not Provisioning. */
  initialized: boolean;
  lastError: string | null;
  /** What the platform last saw of the primary lease: expired means nobody may be serving writes. */
  leaseState: 'unknown' | 'held' | 'expired';
  /** Instances whose processes are known to be gone (their lease can be taken over at once). */
  goneInstances: string[];
  /** The primary's last reported WAL position (maxLagOnFailover). */
  lastPrimaryLsn: string | null;
  /** The primary an ongoing failover or switchover started from. */
  planFrom: string | null;
  /** Time of the latest platform observation; machines do not read clocks. */
  lastSeenAt: string;
  /** Finished failovers and switchovers, newest last, bounded. */
  history: PlanOutput[];
  lastSwitchoverRequest: string | null;
  pendingSwitchoverTarget: string | null;
  /** A sharded cluster: its shards' last observed state (empty otherwise). */
  shards: ShardObservation[];
  // Hibernation and fencing (v4, ADR 0028): the raw annotations as last seen, and the validated fencing list.
  /** postgres.keiailab.io/hibernation as last seen (null: absent); power.logic decides what it means. */
  hibernationAnnotation: string | null;
  /** postgres.keiailab.io/fenced-instances as last seen (null: absent). */
  fencingAnnotation: string | null;
  /** Instances kept stopped and out of routes and failover; ["*"] for all. Bad annotation content keeps the last list. */
  fencedInstances: string[];
  /** Why the fenced-instances annotation was refused (names the annotation and the fix), or null. */
  fencingError: string | null;
  /** Rolling restarts and image updates (v4, ADR 0026). */
  rollout: RolloutContext;
}

export type ClusterEvent =
  | { type: 'spec.changed'; spec: PostgresClusterSpec; generation: number }
  | { type: 'instance.reported'; instance: string; observation: InstanceObservation }
  | { type: 'instance.lost'; instance: string; reason: string; gone?: boolean; at?: string }
  | { type: 'instance.phaseChanged'; instance: string; phase: InstancePhase; reason?: string; progress?: StepProgress | null }
  | { type: 'cluster.deleted' }
  | { type: 'lease.observed'; holder: string | null; at: string }
  | { type: 'failover.promoted'; instance: string; timeline: number }
  | { type: 'switchover.requested'; id: string; to: string | null; at: string }
  | { type: 'shards.observed'; shards: ShardObservation[] }
  | { type: 'shards.retry' }
  | { type: 'hibernation.requested'; annotation: string | null }
  | { type: 'fencing.requested'; annotation: string | null }
  | RolloutEvent;

export const HISTORY_LIMIT = 10;

export interface ClusterEffectInput { cluster: ClusterRef; spec: PostgresClusterSpec }

/** A sharded cluster's effects: its shards (PostgresClusters) and ShardRanges, owned by the object of this uid. */
export interface ShardsEffectInput { cluster: ClusterRef; uid: string; spec: PostgresClusterSpec }
