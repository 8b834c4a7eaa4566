export type AgentBootstrap = 'initdb' | 'clone';
export type AgentRole = 'primary' | 'replica' | 'unknown';

export interface Upstream { name: string; host: string; port: number }

export interface AgentInput {
  instance: string;
  bootstrap: AgentBootstrap;
  /** Restart backoff ceiling; the supervisor doubles from 1 s up to this. */
  maxBackoffMs: number;
  /** Primary lease TTL: how long a crashed primary may take to come back before it gives the lease up. */
  leaseMs: number;
}

export interface AgentContext extends AgentInput {
  role: AgentRole;
  restarts: number;
  /** Consecutive crashes since postgres last stayed up; drives the backoff. */
  crashStreak: number;
  lastExit: string | null;
  bootstrapError: string | null;
  /** Why the agent stopped accepting writes, while fenced. */
  fencedReason: string | null;
  /** The primary this instance follows after a rejoin (from the lease holder). */
  upstream: Upstream | null;
  lastError: string | null;
  /** Final checkpoint LSN of a clean demotion; the switchover candidate must replay up to it. */
  demotedAt: string | null;
  /** The operator plan the lease goes to when this primary is demoted. */
  handoverTo: string | null;
}

export type ClaimResult =
  | { kind: 'granted' }
  | { kind: 'follow'; primary: Upstream }
  | { kind: 'wait'; reason: string };

export type AgentEvent =
  | { type: 'postgres.ready' }
  /** reason: what postgres said last before it exited (its FATAL or PANIC line), when it said anything. */
  | { type: 'postgres.exited'; code: number | null; signal: string | null; reason?: string }
  | { type: 'postgres.stable' }
  | { type: 'lease.lost'; reason: string }
  | { type: 'lease.granted' }
  | { type: 'lease.follow'; primary: Upstream }
  | { type: 'agent.promote' }
  | { type: 'agent.demote'; handoverTo: string }
  | { type: 'agent.fence'; reason: string }
  /** Keep postgres stopped until released (Kubernetes fencing, ADR 0037); the agent keeps serving its API. */
  | { type: 'agent.hold'; reason: string }
  | { type: 'agent.release' }
  | { type: 'agent.stop' }
  | { type: 'config.changed' };

export interface DataDirState { initialized: boolean; standby: boolean }
export interface SupervisorInput { instance: string }
export interface RoleInput { instance: string; role: AgentRole }
export interface RejoinInput { instance: string; upstream: Upstream }
export interface DemoteInput { instance: string; handoverTo: string }
