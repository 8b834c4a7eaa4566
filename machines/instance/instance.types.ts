import type { InstanceObservation } from '../shared/observation.js';

export interface ClusterRef { namespace: string; name: string }

export type BootstrapMode = 'initdb' | 'clone';

/** The operator's view of one instance's lifecycle, mirrored into the cluster's context. */
export type InstancePhase =
  | 'reservingSlot' | 'creating' | 'bootstrapping' | 'running' | 'lost' | 'rejoining' | 'failed' | 'removing' | 'removed';

export interface InstanceInput {
  cluster: ClusterRef;
  name: string;
  serial: number;
  bootstrap: BootstrapMode;
  /** The instance a replica clones from and streams from. */
  primary: string | null;
}

export interface InstanceContext extends InstanceInput {
  observed: InstanceObservation | null;
  lastError: string | null;
}

export type InstanceEvent =
  | { type: 'instance.reported'; instance: string; observation: InstanceObservation }
  | { type: 'instance.lost'; instance: string; reason: string }
  | { type: 'instance.remove' };

/** Sent to the parent cluster whenever the phase changes. */
export interface InstancePhaseChanged {
  type: 'instance.phaseChanged';
  instance: string;
  phase: InstancePhase;
  reason?: string;
}

export interface SlotEffectInput { cluster: ClusterRef; instance: string; primary: string | null }
export interface InstanceEffectInput { cluster: ClusterRef; instance: string; serial: number; bootstrap: BootstrapMode; primary: string | null }
