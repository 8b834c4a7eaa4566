export type AgentBootstrap = 'initdb' | 'clone';

export interface AgentInput {
  instance: string;
  bootstrap: AgentBootstrap;
  /** Restart backoff ceiling; the supervisor doubles from 1 s up to this. */
  maxBackoffMs: number;
}

export interface AgentContext extends AgentInput {
  restarts: number;
  /** Consecutive crashes since postgres last stayed up; drives the backoff. */
  crashStreak: number;
  lastExit: string | null;
  bootstrapError: string | null;
}

export type AgentEvent =
  | { type: 'postgres.ready' }
  | { type: 'postgres.exited'; code: number | null; signal: string | null }
  | { type: 'postgres.stable' }
  | { type: 'agent.stop' }
  | { type: 'config.changed' };

export interface DataDirState { initialized: boolean }
export interface SupervisorInput { instance: string }
