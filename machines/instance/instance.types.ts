import type { InstanceObservation } from '../shared/observation.js';

export interface ClusterRef { namespace: string; name: string }

export type BootstrapMode = 'initdb' | 'clone';

/** The operator's view of one instance's lifecycle, mirrored into the cluster's context. */
export type InstancePhase =
  | 'reservingSlot' | 'cloning' | 'creating' | 'bootstrapping' | 'running' | 'lost' | 'rejoining' | 'failed' | 'removing' | 'removed';

/** The custom object an instance belongs to, as it was when the instance was created: queued steps key their job
 * ids on it, so a deleted and recreated cluster of the same name never adopts the old cluster's jobs. */
export interface OwnerIdentity { uid: string; generation: number }

export interface InstanceInput {
  cluster: ClusterRef;
  owner: OwnerIdentity;
  name: string;
  serial: number;
  bootstrap: BootstrapMode;
  /** The instance a replica clones from and streams from. */
  primary: string | null;
}

export interface StepProgress { percent: number | null; detail: string }

export interface InstanceContext extends InstanceInput {
  observed: InstanceObservation | null;
  lastError: string | null;
  /** Progress of the long-running step in flight (a clone). */
  progress: StepProgress | null;
}

export type InstanceEvent =
  | { type: 'instance.reported'; instance: string; observation: InstanceObservation }
  | { type: 'instance.lost'; instance: string; reason: string }
  | { type: 'instance.remove' }
  /** Asks for the current phase again (the parent's record may predate a restore). */
  | { type: 'phase.sync' }
  | { type: 'step.progress'; progress: StepProgress }
  | { type: 'step.succeeded'; result: unknown }
  | { type: 'step.failed'; error: string; permanent: boolean };

/** Sent to the parent cluster whenever the phase changes. */
export interface InstancePhaseChanged {
  type: 'instance.phaseChanged';
  instance: string;
  phase: InstancePhase;
  reason?: string;
  progress?: StepProgress | null;
}

export interface SlotEffectInput { cluster: ClusterRef; instance: string; primary: string | null }
export interface InstanceEffectInput { cluster: ClusterRef; owner: OwnerIdentity; instance: string; serial: number; bootstrap: BootstrapMode; primary: string | null }
