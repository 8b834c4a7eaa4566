// The operator's side of the agent HTTP API.
import type { InstanceObservation } from '../../machines/shared/observation.js';

export interface AgentStatusBody extends InstanceObservation {
  instance: string;
  state: string;
  lagBytes: number | null;
  streaming: boolean;
  restarts: number;
  lastExit: string | null;
  postgresPid: number | null;
  progress: { step: string; percent: number | null } | null;
}

export async function fetchAgentStatus(host: string, port: number, timeoutMs = 1500): Promise<AgentStatusBody> {
  const res = await fetch(`http://${host}:${port}/status`, { signal: AbortSignal.timeout(timeoutMs) });
  if (!res.ok) throw new Error(`agent answered ${res.status}`);
  return (await res.json()) as AgentStatusBody;
}

export const observationOf = (s: AgentStatusBody): InstanceObservation => ({
  role: s.role, ready: s.ready, timeline: s.timeline, currentLsn: s.currentLsn, receiveLsn: s.receiveLsn,
  replayLsn: s.replayLsn, bootstrapping: s.bootstrapping, failed: s.failed,
});
