// Pure decisions for the cluster machine: naming, membership arithmetic and which replica to remove.
import type { ClusterContext, Member } from './cluster.types.js';
import { isFenced } from './power.logic.js';

export const instanceName = (cluster: string, serial: number) => `${cluster}-${serial}`;

/** Members still counted towards spec.instances (a member being removed no longer counts). */
export const liveMembers = (ctx: ClusterContext): Member[] =>
  ctx.members.filter((m) => m.phase !== 'removing' && m.phase !== 'removed');

export const isBootstrapping = (m: Member) =>
  m.phase === 'reservingSlot' || m.phase === 'cloning' || m.phase === 'creating' || m.phase === 'bootstrapping';

export const allLiveRunning = (ctx: ClusterContext) => liveMembers(ctx).every((m) => m.phase === 'running');

export const needsMoreMembers = (ctx: ClusterContext) => liveMembers(ctx).length < ctx.spec.instances;
export const hasTooManyMembers = (ctx: ClusterContext) => liveMembers(ctx).length > ctx.spec.instances;

/** Scale down removes the newest replica first and never the primary. */
export function replicaToRemove(ctx: ClusterContext): Member | undefined {
  return [...liveMembers(ctx)].reverse().find((m) => m.name !== ctx.currentPrimary);
}

export const removalInProgress = (ctx: ClusterContext) => ctx.members.some((m) => m.phase === 'removing');

/** The primary is lost and provably not serving writes: its lease expired, or its processes are gone. */
export function primaryNeedsFailover(ctx: ClusterContext): boolean {
  const primary = ctx.members.find((m) => m.name === ctx.currentPrimary);
  if (!primary || (primary.phase !== 'lost' && primary.phase !== 'failed')) return false;
  // A fenced primary was stopped on purpose: no failover replaces it (lifting the fence brings it back).
  if (isFenced(ctx, primary.name)) return false;
  if (!hasFailoverCandidate(ctx)) return false;
  return ctx.leaseState === 'expired' || ctx.goneInstances.includes(primary.name);
}

/**
 * Whether a replica could take over from the current primary. With every replica gone too (a whole-platform restart)
 * there is nobody to promote; the primary may well come back in place first. A replica that is merely not streaming
 * (its primary is gone) is a candidate.
 */
export function hasFailoverCandidate(ctx: ClusterContext): boolean {
  const candidate = (m: Member) => m.name !== ctx.currentPrimary && !ctx.goneInstances.includes(m.name) && !isFenced(ctx, m.name) && (m.phase === 'running' || m.phase === 'lost');
  return liveMembers(ctx).some(candidate);
}

export const replicaNames = (ctx: ClusterContext) => liveMembers(ctx).filter((m) => m.name !== ctx.currentPrimary).map((m) => m.name);

/** Replicas a failover must not promote (ADR 0028); they stay repointed and keep their slot on the new primary. */
export const fencedReplicas = (ctx: ClusterContext) => replicaNames(ctx).filter((n) => isFenced(ctx, n));
