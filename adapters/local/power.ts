// Hibernation and fencing on the local platform (ADR 0028): the cluster machine publishes which instances must be
// stopped (machines/cluster/power.selectors.ts); this keeps the pods in line, like the forwarders follow the routes.
// Stops run in the published order (the primary first), each to its end, after a checkpoint; starts follow the
// member order. One pass per cluster at a time; a newer list waits for the pass in flight and then wins.
import type { ClusterRef } from '../../machines/instance/instance.types.js';
import type { LocalPods, PodRecord } from './pods.js';
import type { AgentClient } from '../agent-client.js';
import type { Logger } from '../logging/logger.js';

export interface PowerDeps {
  pods: LocalPods;
  agent(cluster: ClusterRef, instance: string): Promise<AgentClient | null>;
  log: Logger;
}

export class LocalPower {
  private readonly running = new Map<string, Promise<void>>();
  private readonly wanted = new Map<string, string[]>();

  constructor(private readonly deps: PowerDeps) {}

  /** Asks for `stopped` (in stop order) to be held stopped and every other pod of the cluster to run; returns at once. */
  request(cluster: ClusterRef, stopped: string[]): void {
    const key = `${cluster.namespace}/${cluster.name}`;
    this.wanted.set(key, stopped);
    if (this.running.has(key)) return;
    const pass = (async () => {
      for (let last: string | undefined; ;) {
        const want = this.wanted.get(key) ?? [];
        const text = JSON.stringify(want);
        if (text === last) break;
        last = text;
        await this.enforce(cluster, want);
      }
    })().catch((e: unknown) => {
      // Not swallowed: logged, and the next status round asks again (every step here is idempotent).
      this.deps.log.error({ cluster: key, err: (e as Error).message }, 'holding instances stopped failed; retrying next round');
    }).finally(() => this.running.delete(key));
    this.running.set(key, pass);
  }

  /** Waits for the passes in flight (tests, shutdown). */
  async settle(): Promise<void> { await Promise.all(this.running.values()); }

  /** One idempotent pass: hold the listed pods stopped in order, release the others. */
  async enforce(cluster: ClusterRef, stopped: string[]): Promise<void> {
    const pods = (await this.deps.pods.list({ namespace: cluster.namespace, cluster: cluster.name })).filter((p) => !p.removing);
    const byName = new Map(pods.map((p) => [p.name, p]));
    for (const name of stopped) {
      const pod = byName.get(name);
      if (pod) await this.hold(cluster, pod);
    }
    for (const pod of pods) {
      if (stopped.includes(pod.name) || !pod.held) continue;
      if (await this.deps.pods.release(pod)) this.deps.log.info({ cluster: cluster.name, instance: pod.name }, 'hold lifted: instance starting');
    }
  }

  private async hold(cluster: ClusterRef, pod: PodRecord): Promise<void> {
    const running = this.deps.pods.agentPid(pod) !== undefined && this.deps.pods.postmasterPid(pod) !== undefined;
    if (running && !pod.held) {
      // A checkpoint first makes the shutdown checkpoint short; the fast shutdown writes its own regardless, so an
      // agent that cannot checkpoint (a replica refuses nothing, a stuck primary might) does not block the stop.
      const detail = await this.checkpoint(cluster, pod.name);
      this.deps.log.info({ cluster: cluster.name, instance: pod.name, checkpoint: detail }, 'holding instance stopped');
    }
    await this.deps.pods.hold(pod);
  }

  private async checkpoint(cluster: ClusterRef, instance: string): Promise<string> {
    const agent = await this.deps.agent(cluster, instance);
    if (!agent) return 'no agent';
    try {
      await agent.post('checkpoint', {}, 30_000);
      return 'done';
    } catch (e) {
      return `skipped: ${(e as Error).message}`;
    }
  }
}
