// The operator's side of the instance agent's HTTP API.
import { request } from 'node:http';
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

  /**
   * node:http rather than fetch: fetch gives up on an answer that takes more than 300 s (undici's headers timeout),
   * and a backup or a restore rehearsal answers only when done; `timeoutMs` alone bounds the wait.
   */
  async post<T = Record<string, unknown>>(action: 'promote' | 'demote' | 'fence' | 'hold' | 'release' | 'checkpoint' | 'backup' | 'verify', body: Record<string, unknown> = {}, timeoutMs = 70_000): Promise<T> {
    const { status, text } = await new Promise<{ status: number; text: string }>((resolve, reject) => {
      const data = JSON.stringify(body);
      const req = request(`${this.url}/${action}`, {
        method: 'POST', headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(data), ...this.auth }, signal: AbortSignal.timeout(timeoutMs),
      }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString('utf8') }));
        res.on('error', reject);
      });
      req.on('error', reject);
      req.end(data);
    });
    let payload: T & { error?: string };
    try { payload = JSON.parse(text) as T & { error?: string }; } catch { payload = {} as T & { error?: string }; }
    if (status < 200 || status >= 300) throw new Error(`${action} on ${this.endpoint.name} refused: ${payload.error ?? status}`);
    return payload;
  }
}

export const observationOf = (s: AgentStatusBody): InstanceObservation => ({
  role: s.role, ready: s.ready, timeline: s.timeline, currentLsn: s.currentLsn, receiveLsn: s.receiveLsn,
  replayLsn: s.replayLsn, bootstrapping: s.bootstrapping, failed: s.failed, ...(s.archiver ? { archiver: s.archiver } : {}),
  ...(s.pendingRestart !== undefined ? { pendingRestart: s.pendingRestart } : {}), ...(s.image !== undefined ? { image: s.image } : {}),
  ...(s.configGeneration !== undefined ? { configGeneration: s.configGeneration } : {}),
});
