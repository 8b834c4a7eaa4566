import type { ClusterRef } from '../instance/instance.types.js';
import type { SynchronousSpec } from '../../crds/postgrescluster.js';

/** A replica as the failover plan sees it when choosing whom to promote. */
export interface Candidate {
  name: string;
  reachable: boolean;
  timeline: number | null;
  receiveLsn: string | null;
  replayLsn: string | null;
}

/** One finished step; `detail` says what was done where it matters (how the old primary was fenced). */
export interface StepRecord { step: string; at: string; detail?: string }

export type PlanOutcome = 'promoted' | 'cancelled' | 'restored' | 'rolledBack' | 'failed';

export interface PlanOutput {
  kind: 'failover' | 'switchover';
  outcome: PlanOutcome;
  from: string;
  to: string | null;
  timeline: number | null;
  reason: string;
  startedAt: string;
  steps: StepRecord[];
}

export interface FailoverInput {
  cluster: ClusterRef;
  oldPrimary: string;
  /** Every other member: the synchronous standby set when the primary was lost. */
  replicas: string[];
  synchronous: SynchronousSpec | null;
  maxLagBytes: number | null;
  /** The old primary's last known WAL position, for maxLagOnFailover. */
  lastPrimaryLsn: string | null;
  reason: string;
  startedAt: string;
  /** Fenced replicas (ADR 0028): never candidates. Absent in plans saved before fencing existed. */
  fenced?: string[];
}

export interface FailoverContext extends FailoverInput {
  candidates: Candidate[];
  /** A candidate that already holds the lease: an earlier run of this plan promoted it before a restart. */
  alreadyPromoted: string | null;
  attempted: string[];
  chosen: string | null;
  timeline: number | null;
  steps: StepRecord[];
  waitingReason: string | null;
  lastError: string | null;
  outcome: PlanOutcome | null;
  /** Whether the old primary's agent answered during confirmation (absent in plans saved before it was kept). */
  oldPrimaryAnswered?: boolean;
}

export type FailoverEvent =
  | { type: 'candidates.recheck' }
  | { type: 'primary.returned' };

/** The lease holder name of an operator plan; never an instance name (those have no ':'). */
export const planHolder = (kind: 'failover' | 'switchover', cluster: ClusterRef) => `${kind}:${cluster.namespace}/${cluster.name}`;

export interface Stamped { at: string; detail?: string }
export interface PlanEffectInput { cluster: ClusterRef; holder: string }
export interface ConfirmInput extends PlanEffectInput { oldPrimary: string; replicas: string[] }
export interface InstanceInputOf extends PlanEffectInput { instance: string }
/** Confirmation's answer; `answered` says whether the old primary's agent replied at all. */
export interface ConfirmOutput extends Stamped { lost: boolean; detail: string; answered?: boolean }
export interface FenceInput extends InstanceInputOf { agentAnswered: boolean }
export interface CollectInput extends PlanEffectInput { replicas: string[] }
export interface RepointInput extends PlanEffectInput { newPrimary: string; others: string[] }
/** `replicas` (a failover's) must end up on the new primary's timeline. */
export interface RejoinRequest extends PlanEffectInput { oldPrimary: string; newPrimary: string; replicas?: string[] }
