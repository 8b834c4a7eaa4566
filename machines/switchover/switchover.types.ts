import type { ClusterRef } from '../instance/instance.types.js';
import type { Candidate, PlanOutcome, StepRecord, Stamped, PlanEffectInput } from '../failover/failover.types.js';

export interface SwitchoverInput {
  cluster: ClusterRef;
  requestId: string;
  primary: string;
  /** Requested target; null lets the plan pick the most advanced ready replica. */
  target: string | null;
  replicas: string[];
  startedAt: string;
}

export interface SwitchoverContext extends SwitchoverInput {
  candidate: string | null;
  finalLsn: string | null;
  timeline: number | null;
  steps: StepRecord[];
  lastError: string | null;
  outcome: PlanOutcome | null;
}

export type SwitchoverEvent = { type: 'switchover.noop' };

export interface ReplayInput extends PlanEffectInput { instance: string; lsn: string }
export interface DemoteRequest extends PlanEffectInput { instance: string }
export type { Candidate, Stamped };
