import type { PostgresClusterSpec } from '../../crds/postgrescluster.js';
import type { InstanceObservation } from '../shared/observation.js';
import type { BootstrapMode, ClusterRef, InstancePhase } from '../instance/instance.types.js';

export interface Member {
  name: string;
  serial: number;
  bootstrap: BootstrapMode;
  phase: InstancePhase;
  reason: string | null;
}

export interface ClusterInput {
  namespace: string;
  name: string;
  spec: PostgresClusterSpec;
  generation: number;
}

export interface ClusterContext extends ClusterInput {
  /** Ordered by serial; the serial never repeats, so a removed replica's name is never reused. */
  members: Member[];
  nextSerial: number;
  currentPrimary: string | null;
  /** True once the cluster has been Ready; later scale-ups report Scaling, not Provisioning. */
  initialized: boolean;
  lastError: string | null;
}

export type ClusterEvent =
  | { type: 'spec.changed'; spec: PostgresClusterSpec; generation: number }
  | { type: 'instance.reported'; instance: string; observation: InstanceObservation }
  | { type: 'instance.lost'; instance: string; reason: string }
  | { type: 'instance.phaseChanged'; instance: string; phase: InstancePhase; reason?: string }
  | { type: 'cluster.deleted' };

export interface ClusterEffectInput { cluster: ClusterRef; spec: PostgresClusterSpec }
