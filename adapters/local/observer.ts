// The local kubelet's status loop: revive dead agents, then report every instance to its cluster's actor as
// `instance.reported` (agent answered) or `instance.lost` (agent gone or silent). Repeats are not re-sent.
import type { ClusterEvent } from '../../machines/cluster/cluster.types.js';
import type { ResourceKey } from '../store/resource-store.js';
import type { LocalPods, PodRecord } from './pods.js';
import { isAlive } from './processes.js';
import { fetchAgentStatus, observationOf, type AgentStatusBody } from './agent-client.js';

export class InstanceObserver {
  private readonly last = new Map<string, { text: string; at: number }>();
  private readonly latest = new Map<string, AgentStatusBody>();

  constructor(
    private readonly pods: LocalPods,
    private readonly dispatch: (key: ResourceKey, event: ClusterEvent) => boolean,
    private readonly resendMs = 5000,
  ) {}

  status(namespace: string, name: string): AgentStatusBody | undefined { return this.latest.get(`${namespace}/${name}`); }

  async tick(): Promise<void> {
    await this.pods.reviveDead();
    const pods = (await this.pods.list()).filter((p) => !p.removing);
    await Promise.all(pods.map((p) => this.observe(p)));
    const live = new Set(pods.map((p) => `${p.namespace}/${p.name}`));
    for (const k of this.last.keys()) if (!live.has(k)) { this.last.delete(k); this.latest.delete(k); }
  }

  private async observe(pod: PodRecord): Promise<void> {
    const id = `${pod.namespace}/${pod.name}`;
    const key: ResourceKey = { kind: 'PostgresCluster', namespace: pod.namespace, name: pod.cluster };
    let event: ClusterEvent;
    if (!isAlive(this.pods.agentPid(pod))) {
      event = { type: 'instance.lost', instance: pod.name, reason: 'agent not running' };
      this.latest.delete(id);
    } else {
      try {
        const s = await fetchAgentStatus('127.0.0.1', pod.httpPort);
        this.latest.set(id, s);
        event = { type: 'instance.reported', instance: pod.name, observation: observationOf(s) };
      } catch {
        this.latest.delete(id);
        event = { type: 'instance.lost', instance: pod.name, reason: 'agent not answering' };
      }
    }
    const text = JSON.stringify(event);
    const prev = this.last.get(id);
    const now = Date.now();
    if (prev?.text === text && now - prev.at < this.resendMs) return;
    if (this.dispatch(key, event)) this.last.set(id, { text, at: now });
  }
}
