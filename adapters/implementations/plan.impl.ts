// Effects shared by the failover and switchover plans: the plan's own hold on the lease, talking to agents,
// promotion by lease handover, repointing. Every effect is safe to run twice (a restored plan re-runs it).
import type { PostgresClusterSpec } from '../../crds/postgrescluster.js';
import type { ClusterRef } from '../../machines/instance/instance.types.js';
import type { Candidate, InstanceInputOf, PlanEffectInput, RepointInput, Stamped } from '../../machines/failover/failover.types.js';
import { slotNameFor } from '../instance/spec.js';
import type { PlanPlatform } from '../platform.js';
import { PermanentError } from '../platform.js';
import { withClient } from '../sql/connect.js';
import { ensurePhysicalSlot } from '../sql/replication.js';
import { retrying, abortableSleep } from '../retry.js';
import type { Logger } from '../logging/logger.js';
import type { AgentClient } from '../agent-client.js';

export interface PlanDeps {
  platform: PlanPlatform;
  clusterSpec: (cluster: ClusterRef) => Promise<PostgresClusterSpec>;
  log: Logger;
  now?: () => Date;
  /** Per-step hook for metrics. */
  onStep?: (plan: 'failover' | 'switchover', step: string) => void;
}

export const leaseTtl = (spec: PostgresClusterSpec) => (spec.ha?.leaseDurationSeconds ?? 5) * 1000;

export function planEffects(deps: PlanDeps) {
  const stamp = (): Stamped => ({ at: (deps.now ?? (() => new Date()))().toISOString() });

  async function agentOf(cluster: ClusterRef, instance: string): Promise<AgentClient> {
    const a = await deps.platform.agent(cluster, instance);
    if (!a) throw new Error(`instance ${instance} has no pod`);
    return a;
  }

  /** The plan (re)takes the lease when it is free or already its own; fails when an instance holds it. */
  async function holdPlanLease(input: PlanEffectInput): Promise<void> {
    const ttl = leaseTtl(await deps.clusterSpec(input.cluster));
    const got = await deps.platform.lease(input.cluster).acquire({ holder: input.holder, host: '', port: 0 }, ttl);
    if (!got.acquired) throw new PermanentError(`the lease is held by ${got.holder?.holder}; the plan cannot go on`);
  }

  async function collectCandidates(cluster: ClusterRef, replicas: string[]): Promise<Candidate[]> {
    return Promise.all(replicas.map(async (name): Promise<Candidate> => {
      const unreachable = { name, reachable: false, timeline: null, receiveLsn: null, replayLsn: null };
      const agent = await deps.platform.agent(cluster, name);
      if (!agent) return unreachable;
      try {
        const s = await agent.status();
        if (s.role !== 'replica') return unreachable;
        return { name, reachable: true, timeline: s.timeline, receiveLsn: s.receiveLsn, replayLsn: s.replayLsn };
      } catch {
        return unreachable;
      }
    }));
  }

  /** Lease handed from the plan to the candidate, then the candidate promotes itself; on failure the plan takes it back. */
  async function promoteCandidate(input: InstanceInputOf): Promise<Stamped & { timeline: number }> {
    const spec = await deps.clusterSpec(input.cluster);
    const lease = deps.platform.lease(input.cluster);
    const agent = await agentOf(input.cluster, input.instance);
    const current = await lease.read();
    if (current.holder?.holder !== input.instance) {
      await holdPlanLease(input);
      if (!(await lease.handover(input.holder, { holder: input.instance, host: agent.endpoint.host, port: agent.endpoint.port }, leaseTtl(spec)))) {
        throw new Error(`could not hand the lease to ${input.instance}`);
      }
    }
    try {
      const r = await agent.post<{ timeline?: number }>('promote');
      deps.log.info({ instance: input.instance, timeline: r.timeline }, 'candidate promoted');
      return { ...stamp(), timeline: r.timeline ?? 0 };
    } catch (e) {
      await lease.handover(input.instance, { holder: input.holder, host: '', port: 0 }, leaseTtl(spec)).catch(() => undefined);
      throw e;
    }
  }

  async function repointReplicas(input: RepointInput): Promise<Stamped> {
    const spec = await deps.clusterSpec(input.cluster);
    // The promoted agent creates these slots before it answers (instance/roles.ts), so the standbys are pointed at
    // the new primary at the same time instead of after one more connection to it: under dataDurability: required
    // the first commit waits for them. Ensured here too for an agent that did not (a standby that connects before
    // its slot exists only retries a moment later).
    await Promise.all([
      retrying(async () => {
        await withClient(await deps.platform.superuserEndpoint(input.cluster, input.newPrimary), async (c) => {
          for (const other of input.others) await ensurePhysicalSlot(c, slotNameFor(other));
        });
      }, { maxMs: 60_000 }),
      deps.platform.repoint(input.cluster, spec, input.newPrimary),
    ]);
    return stamp();
  }

  async function restoreOldPrimary(input: InstanceInputOf): Promise<Stamped> {
    const spec = await deps.clusterSpec(input.cluster);
    const agent = await agentOf(input.cluster, input.instance);
    const lease = deps.platform.lease(input.cluster);
    const ok = await lease.handover(input.holder, { holder: input.instance, host: agent.endpoint.host, port: agent.endpoint.port }, leaseTtl(spec));
    if (!ok && (await lease.read()).holder?.holder !== input.instance) throw new Error(`could not hand the lease back to ${input.instance}`);
    return stamp();
  }

  /** Polls an agent until `ok` holds, for at most `timeoutMs`. */
  async function until(cluster: ClusterRef, instance: string, ok: (s: Awaited<ReturnType<AgentClient['status']>>) => boolean, timeoutMs: number, what: string, signal?: AbortSignal) {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      const agent = await deps.platform.agent(cluster, instance);
      const s = await agent?.status().catch(() => null);
      if (s && ok(s)) return s;
      await abortableSleep(100, signal);
    }
    throw new Error(`${instance}: ${what} did not happen within ${Math.round(timeoutMs / 1000)} s`);
  }

  return { stamp, agentOf, holdPlanLease, collectCandidates, promoteCandidate, repointReplicas, restoreOldPrimary, until };
}
