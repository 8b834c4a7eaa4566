// The operator's side of the instance agent's HTTP API.
import type { InstanceObservation } from '../machines/shared/observation.js';
import type { Upstream } from '../machines/agent/agent.types.js';

export interface AgentStatusBody extends InstanceObservation {
  instance: string;
  state: string;
  lagBytes: number | null;
  streaming: boolean;
  restarts: number;
  lastExit: string | null;
  postgresPid: number | null;
  progress: { step: string; percent: number | null } | null;
  fenced: string | null;
  demotedAt: string | null;
  upstream: string | null;
  lastError: string | null;
  /** The instance's data and socket directories as its Pod sees them (absent from older agents). */
  dataDir?: string;
  socketDir?: string;
}

export class AgentClient {
  /** `token` is the cluster's agent API token, sent as a bearer token on every request. */
  constructor(readonly url: string, readonly endpoint: Upstream, private readonly token: string) {}

  private get auth() { return { authorization: `Bearer ${this.token}` }; }

  async status(timeoutMs = 1500): Promise<AgentStatusBody> {
    const res = await fetch(`${this.url}/status`, { headers: this.auth, signal: AbortSignal.timeout(timeoutMs) });
    if (!res.ok) throw new Error(`agent ${this.endpoint.name} answered ${res.status}`);
    return (await res.json()) as AgentStatusBody;
  }

  async post<T = Record<string, unknown>>(action: 'promote' | 'demote' | 'fence' | 'hold' | 'release' | 'checkpoint' | 'backup' | 'verify', body: Record<string, unknown> = {}, timeoutMs = 70_000): Promise<T> {
    const res = await fetch(`${this.url}/${action}`, {
      method: 'POST', headers: { 'content-type': 'application/json', ...this.auth }, body: JSON.stringify(body), signal: AbortSignal.timeout(timeoutMs),
    });
    const payload = (await res.json().catch(() => ({}))) as T & { error?: string };
    if (!res.ok) throw new Error(`${action} on ${this.endpoint.name} refused: ${payload.error ?? res.status}`);
    return payload;
  }
}

export const observationOf = (s: AgentStatusBody): InstanceObservation => ({
  role: s.role, ready: s.ready, timeline: s.timeline, currentLsn: s.currentLsn, receiveLsn: s.receiveLsn,
  replayLsn: s.replayLsn, bootstrapping: s.bootstrapping, failed: s.failed, ...(s.archiver ? { archiver: s.archiver } : {}),
  ...(s.pendingRestart !== undefined ? { pendingRestart: s.pendingRestart } : {}), ...(s.image !== undefined ? { image: s.image } : {}),
  ...(s.configGeneration !== undefined ? { configGeneration: s.configGeneration } : {}),
});
