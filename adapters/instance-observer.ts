// The operator's status loop on any platform: bring back lost pods (the platform's kubelet/StatefulSet part), then
// report every instance to its cluster's actor as `instance.reported` (agent answered) or `instance.lost` (agent
// gone or silent), and the primary lease as `lease.observed`. Repeats are not re-sent.
import type { ClusterEvent } from '../machines/cluster/cluster.types.js';
import type { ResourceKey } from '../actors/ports/resource-store.js';
import type { PlanPlatform } from './platform.js';
import { AgentClient, observationOf, type AgentStatusBody } from './agent-client.js';

/** One instance as the platform records it (a local pod record, a PVC in Kubernetes), with its agent if reachable. */
export interface ObservedInstance {
  namespace: string;
  cluster: string;
  name: string;
  agent: { url: string; host: string; port: number } | null;
}

export interface InstanceSource {
  /** Restarts or recreates what was lost; runs before each round. */
  reviveLost(): Promise<unknown>;
  list(): Promise<ObservedInstance[]>;
}

/** A lease about to run out is read again this long after its TTL: the store's own expiry decides, not our clock. */
const EXPIRY_SLACK_MS = 25;
/** Once the lease is gone, the last holder's agent gets this long to answer before it is reported lost. */
const EXPIRED_HOLDER_STATUS_MS = 300;

export class InstanceObserver {
  private readonly last = new Map<string, { text: string; at: number }>();
  private readonly latest = new Map<string, AgentStatusBody>();
  /** Per cluster: the timer armed at the lease's expiry, and the instance that held it. */
  private readonly leaseWatches = new Map<string, { timer: NodeJS.Timeout; holder: string }>();
  private readonly known = new Map<string, ObservedInstance>();

  constructor(
    private readonly pods: InstanceSource,
    private readonly platform: PlanPlatform,
    private readonly dispatch: (key: ResourceKey, event: ClusterEvent) => boolean,
    private readonly resendMs = 5000,
  ) {}

  status(namespace: string, name: string): AgentStatusBody | undefined { return this.latest.get(`${namespace}/${name}`); }

  async tick(): Promise<void> {
    await this.pods.reviveLost();
    const pods = await this.pods.list();
    for (const p of pods) this.known.set(`${p.namespace}/${p.name}`, p);
    await Promise.all(pods.map((p) => this.observe(p)));
    for (const c of new Map(pods.map((p) => [`${p.namespace}/${p.cluster}`, p])).values()) await this.observeLease(c.namespace, c.cluster);
    const live = new Set(pods.map((p) => `${p.namespace}/${p.name}`));
    for (const k of this.last.keys()) if (!live.has(k)) { this.last.delete(k); this.latest.delete(k); }
    for (const k of this.known.keys()) if (!live.has(k)) this.known.delete(k);
  }

  /** Stops the lease timers (the operator is stopping). */
  stop(): void {
    for (const w of this.leaseWatches.values()) clearTimeout(w.timer);
    this.leaseWatches.clear();
  }

  private async observe(pod: ObservedInstance, statusTimeoutMs?: number): Promise<void> {
    const id = `${pod.namespace}/${pod.name}`;
    const key: ResourceKey = { kind: 'PostgresCluster', namespace: pod.namespace, name: pod.cluster };
    const cluster = { namespace: pod.namespace, name: pod.cluster };
    let event: ClusterEvent;
    try {
      if (!pod.agent) throw new Error('no address');
      const token = await this.platform.agentToken(cluster);
      const s = await new AgentClient(pod.agent.url, { name: pod.name, host: pod.agent.host, port: pod.agent.port }, token).status(statusTimeoutMs);
      this.latest.set(id, s);
      event = { type: 'instance.reported', instance: pod.name, observation: observationOf(s) };
    } catch {
      this.latest.delete(id);
      const gone = await this.platform.instanceGone(cluster, pod.name);
      event = { type: 'instance.lost', instance: pod.name, reason: gone ? 'instance gone (agent and postgres not running)' : 'agent not answering', gone };
    }
    this.send(id, key, event);
  }

  private async observeLease(namespace: string, cluster: string): Promise<void> {
    const state = await this.platform.lease({ namespace, name: cluster }).read().catch(() => null);
    if (!state) return;
    this.watchExpiry(namespace, cluster, state.holder?.holder ?? null, state.ttlMs);
    this.send(`lease:${namespace}/${cluster}`, { kind: 'PostgresCluster', namespace, name: cluster }, { type: 'lease.observed', holder: state.holder?.holder ?? null, at: '' });
  }

  /**
   * Detection from the lease itself: a timer armed at the moment the lease would run out reads it again, so an
   * expiry is seen within milliseconds instead of at the next round (which a frozen agent slows down by its status
   * timeout). When it is gone, the expiry goes out and the last holder gets a short look (reported lost unless it
   * answers at once); the cluster machine starts its plan as soon as both hold.
   */
  private watchExpiry(namespace: string, cluster: string, holder: string | null, ttlMs: number): void {
    const id = `${namespace}/${cluster}`;
    const prev = this.leaseWatches.get(id);
    if (prev) clearTimeout(prev.timer);
    this.leaseWatches.delete(id);
    if (!holder || ttlMs <= 0) return;
    const timer = setTimeout(() => { void this.recheckLease(namespace, cluster, holder).catch(() => undefined); }, ttlMs + EXPIRY_SLACK_MS);
    timer.unref();
    this.leaseWatches.set(id, { timer, holder });
  }

  private async recheckLease(namespace: string, cluster: string, lastHolder: string): Promise<void> {
    const state = await this.platform.lease({ namespace, name: cluster }).read();
    const holder = state.holder?.holder ?? null;
    this.watchExpiry(namespace, cluster, holder, state.ttlMs);
    // The expiry goes out first: when the holder is already known lost (its status timed out meanwhile), the plan
    // starts now; otherwise the short look below reports it.
    this.send(`lease:${namespace}/${cluster}`, { kind: 'PostgresCluster', namespace, name: cluster }, { type: 'lease.observed', holder, at: '' });
    if (holder === null) {
      const pod = this.known.get(`${namespace}/${lastHolder}`);
      if (pod) await this.observe(pod, EXPIRED_HOLDER_STATUS_MS);
    }
  }

  /** Sends unless the same event went out recently; `at` is stamped here and does not count as a change. */
  private send(id: string, key: ResourceKey, event: ClusterEvent): void {
    const text = JSON.stringify(event);
    const prev = this.last.get(id);
    const now = Date.now();
    if (prev?.text === text && now - prev.at < this.resendMs) return;
    const stamped = event.type === 'lease.observed' || event.type === 'instance.lost' ? { ...event, at: new Date(now).toISOString() } : event;
    if (this.dispatch(key, stamped)) this.last.set(id, { text, at: now });
  }
}
