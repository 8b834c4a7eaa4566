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

export class InstanceObserver {
  private readonly last = new Map<string, { text: string; at: number }>();
  private readonly latest = new Map<string, AgentStatusBody>();

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
    await Promise.all(pods.map((p) => this.observe(p)));
    for (const c of new Map(pods.map((p) => [`${p.namespace}/${p.cluster}`, p])).values()) await this.observeLease(c.namespace, c.cluster);
    const live = new Set(pods.map((p) => `${p.namespace}/${p.name}`));
    for (const k of this.last.keys()) if (!live.has(k)) { this.last.delete(k); this.latest.delete(k); }
  }

  private async observe(pod: ObservedInstance): Promise<void> {
    const id = `${pod.namespace}/${pod.name}`;
    const key: ResourceKey = { kind: 'PostgresCluster', namespace: pod.namespace, name: pod.cluster };
    const cluster = { namespace: pod.namespace, name: pod.cluster };
    let event: ClusterEvent;
    try {
      if (!pod.agent) throw new Error('no address');
      const s = await new AgentClient(pod.agent.url, { name: pod.name, host: pod.agent.host, port: pod.agent.port }).status();
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
    this.send(`lease:${namespace}/${cluster}`, { kind: 'PostgresCluster', namespace, name: cluster }, { type: 'lease.observed', holder: state.holder?.holder ?? null, at: '' });
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
