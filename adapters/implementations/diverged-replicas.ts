// After a failover, every replica must end up on the new timeline. One may not be able to: an old primary fenced by
// the platform while its node could not be reached (Kubernetes: a zero-grace delete of a Pod on a frozen node) keeps
// running when the node comes back, and its walsenders send the replicas still connected to it WAL past the point
// where the new timeline forked. Such a replica can never follow the new primary ("forked off ... before current
// recovery point"); it is told to fence itself, and its agent then rejoins the new primary by pg_rewind.
import { compareLsn } from '../../machines/shared/lsn.js';
import type { ClusterRef } from '../../machines/instance/instance.types.js';
import type { PlanPlatform } from '../platform.js';
import { withClient } from '../sql/connect.js';
import { abortableSleep } from '../retry.js';
import type { Logger } from '../logging/logger.js';

/**
 * How long replicas that answer get to reach the new timeline before the plan moves on without them (a switch takes
 * a second or two). One whose agent or postgres does not answer is not waited for: the plan reroutes after this.
 */
const FOLLOW_WAIT_MS = 15_000;

/** The switch points of a timeline history file: parent timeline → the LSN where the next one began. */
export function forkPoints(history: string): Map<number, string> {
  const forks = new Map<number, string>();
  for (const line of history.split('\n')) {
    const [tli, lsn] = line.trim().split(/\s+/);
    if (tli && lsn && /^\d+$/.test(tli) && /^[0-9A-Fa-f]+\/[0-9A-Fa-f]+$/.test(lsn)) forks.set(Number(tli), lsn);
  }
  return forks;
}

/** The furthest of two LSNs, either possibly unknown. */
const furthest = (a: string | null, b: string | null) => (a && b ? (compareLsn(a, b) >= 0 ? a : b) : a ?? b);

export interface FollowOutcome { following: string[]; rewinding: string[]; unknown: string[]; note?: string }

/**
 * Waits until each replica streams on the new primary's timeline; one that has WAL past its timeline's fork point is
 * fenced, so that it rewinds. Replicas that cannot be asked are left (reported as unknown).
 */
export async function settleReplicas(
  deps: { platform: PlanPlatform; log: Logger }, cluster: ClusterRef, newPrimary: string, replicas: string[], signal?: AbortSignal,
): Promise<FollowOutcome> {
  const out: FollowOutcome = { following: [], rewinding: [], unknown: [] };
  const primary = await (await deps.platform.agent(cluster, newPrimary))?.status().catch(() => null);
  const timeline = primary?.role === 'primary' ? primary.timeline : null;
  if (!timeline || timeline < 2) return { ...out, unknown: replicas };
  const file = `pg_wal/${timeline.toString(16).toUpperCase().padStart(8, '0')}.history`;
  const deadline = Date.now() + FOLLOW_WAIT_MS;
  let history: string | null = null;
  // The new primary may be restarting postgres right after its promotion: read again until the deadline.
  for (let error = ''; history === null;) {
    try {
      history = await withClient(await deps.platform.superuserEndpoint(cluster, newPrimary),
        async (c) => (await c.query<{ h: string }>('SELECT pg_read_file($1) AS h', [file])).rows[0]?.h ?? '');
    } catch (e) {
      error = (e as Error).message;
      // Not a reason to hold the plan: the record says the replicas were not checked.
      if (Date.now() >= deadline || signal?.aborted) return { ...out, unknown: replicas, note: `timeline ${timeline} history not read: ${error}` };
      await abortableSleep(500, signal).catch(() => undefined);
    }
  }
  const forks = forkPoints(history);
  const pending = new Set(replicas);
  while (pending.size && Date.now() < deadline && !signal?.aborted) {
    for (const name of [...pending]) {
      const agent = await deps.platform.agent(cluster, name);
      const s = await agent?.status().catch(() => null);
      if (!agent || !s || s.role !== 'replica' || s.timeline === null) { pending.delete(name); out.unknown.push(name); continue; }
      if (s.timeline >= timeline) { pending.delete(name); out.following.push(name); continue; }
      const fork = forks.get(s.timeline);
      const at = furthest(s.replayLsn, s.receiveLsn);
      if (!fork || !at || compareLsn(at, fork) <= 0) continue;
      const reason = `diverged: WAL to ${at} on timeline ${s.timeline}, past the fork of timeline ${timeline} at ${fork}; rejoining by pg_rewind`;
      deps.log.warn({ instance: name, at, fork, timeline }, 'replica diverged from the new timeline; fencing it so it rewinds');
      await agent.post('fence', { reason }, 35_000);
      pending.delete(name);
      out.rewinding.push(name);
    }
    if (pending.size) await abortableSleep(250, signal);
  }
  out.unknown.push(...pending);
  return out;
}
