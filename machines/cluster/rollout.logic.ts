// Pure decisions of a rolling update (ADR 0026): which instance restarts next, and when the rollout is done.
// Everything is decided from what the instances last reported (pending_restart, the bin directory or image the
// postmaster runs), so a restored machine resumes from the facts, not from a remembered plan.
import type { ClusterContext, Member } from './cluster.types.js';
import { liveMembers } from './cluster.logic.js';
import { isFenced, FENCED_INSTANCES_ANNOTATION } from './power.logic.js';

/**
 * The members a rollout acts on and waits for: live and not fenced. A fenced instance is stopped on purpose
 * (ADR 0028): restarting it would undo the fence, and waiting for it to serve would wait forever. It is skipped
 * (RolloutBlocked names it) and rolled once unfenced, when it reports back behind.
 */
export const rolloutMembers = (ctx: ClusterContext): Member[] => liveMembers(ctx).filter((m) => !isFenced(ctx, m.name));

/** This member runs older settings or another image than the cluster wants. */
export function memberNeedsRestart(ctx: ClusterContext, m: Member): boolean {
  if (m.pendingRestart === true) return true;
  const want = ctx.rollout.desiredImage;
  return want !== null && m.image !== undefined && m.image !== null && m.image !== want;
}

/** Rolling is possible only where the platform resolves images (it then also restarts instances). */
export const rollingSupported = (ctx: ClusterContext) => ctx.rollout.desiredImage !== null && ctx.spec.sharding === undefined;

export const needsRollout = (ctx: ClusterContext) => rollingSupported(ctx) && rolloutMembers(ctx).some((m) => memberNeedsRestart(ctx, m));

/** Running and answering ready: the rollout takes the next step only while every instance is. */
const serving = (m: Member) => m.phase === 'running' && m.ready !== false;

/**
 * The member has loaded the configuration last applied, so its pending_restart is about it. Reports arrive one
 * instance at a time: without this, a replica not yet reloaded would look updated and be chosen as the switchover
 * target before it restarted. Untracked (null) counts as fresh.
 */
const fresh = (ctx: ClusterContext, m: Member) =>
  (m.configGeneration === undefined || m.configGeneration === null || m.configGeneration >= ctx.rollout.appliedGeneration)
  // An instance that has not said which image it runs is not known to be updated either.
  && (ctx.rollout.desiredImage === null || m.image !== undefined);

/** Every instance serves and reports on the current configuration: only then is the next step decided. */
export const allServing = (ctx: ClusterContext) => rolloutMembers(ctx).every((m) => serving(m) && fresh(ctx, m));

/** The next replica to restart: the oldest (lowest serial) first, so the order is stable across restores. */
export function nextReplica(ctx: ClusterContext): Member | undefined {
  return rolloutMembers(ctx).find((m) => m.name !== ctx.currentPrimary && memberNeedsRestart(ctx, m));
}

export function primaryNeedsRestart(ctx: ClusterContext): boolean {
  const p = rolloutMembers(ctx).find((m) => m.name === ctx.currentPrimary);
  return !!p && memberNeedsRestart(ctx, p);
}

/** A replica already updated and serving: the switchover target that lets the primary go last. */
export function updatedReplica(ctx: ClusterContext): Member | undefined {
  return rolloutMembers(ctx).find((m) => m.name !== ctx.currentPrimary && serving(m) && !memberNeedsRestart(ctx, m));
}

/** Fenced replicas count: a primary whose only replicas are fenced waits (RolloutBlocked) instead of restarting alone. */
export const hasReplicas = (ctx: ClusterContext) => liveMembers(ctx).some((m) => m.name !== ctx.currentPrimary);

/**
 * A fenced member left out while the rest are rolled: it was on settings or an image the cluster no longer wants
 * when it stopped reporting (pending restart, another image, or a configuration generation older than the applied one).
 */
export function fencedBehind(ctx: ClusterContext): Member[] {
  if (!rollingSupported(ctx)) return [];
  return liveMembers(ctx).filter((m) => isFenced(ctx, m.name)
    && (memberNeedsRestart(ctx, m) || (typeof m.configGeneration === 'number' && m.configGeneration < ctx.rollout.appliedGeneration)));
}

/**
 * The members as they stand once a new configuration generation is applied. One that is not running then (fenced,
 * lost) cannot have loaded it, whatever it reported before it stopped: agents report no generation (null) until
 * their first reload, and null counts as fresh, so a replica fenced before any reconfiguration looked up to date and
 * RolloutBlocked never named it. It is recorded on the previous generation instead; its next report (once it runs
 * again, on what the platform gave it meanwhile) replaces that.
 */
export function membersAfterApply(ctx: ClusterContext, previous: number): Member[] {
  return ctx.members.map((m) => {
    if (m.phase === 'running' || m.phase === 'removing' || m.phase === 'removed') return m;
    const known = typeof m.configGeneration === 'number' ? Math.min(m.configGeneration, previous) : previous;
    return { ...m, configGeneration: known };
  });
}

/** The unfenced members all run while some fenced one does not: the rollout may go on around the fenced ones. */
export const canRollAroundFenced = (ctx: ClusterContext) => {
  const fencedDown = liveMembers(ctx).some((m) => isFenced(ctx, m.name) && m.phase !== 'running');
  return fencedDown && rolloutMembers(ctx).every((m) => m.phase === 'running') && needsRollout(ctx);
};

/** Why a rollout leaves fenced instances behind, and the fix. */
export function rolloutBlockedMessage(ctx: ClusterContext, fenced: Member[]): string {
  const names = fenced.map((m) => m.name).join(', ');
  const primary = fenced.some((m) => m.name === ctx.currentPrimary);
  return `instance${fenced.length > 1 ? 's' : ''} ${names} ${fenced.length > 1 ? 'are' : 'is'} fenced (${FENCED_INSTANCES_ANNOTATION}), so the rolling update does not restart ${fenced.length > 1 ? 'them' : 'it'}`
    + `${primary ? '' : '; the other instances roll'}. To update ${fenced.length > 1 ? 'them' : 'it'}, lift the fence (\`pgop local unfence ${ctx.name} ${fenced.map((m) => m.name).join(' ')}\`, or remove ${fenced.length > 1 ? 'them' : 'it'} from the annotation): ${fenced.length > 1 ? 'they roll' : 'it rolls'} once back`;
}


/**
 * Deterministic: one rollout switchover per spec generation and image. A second one for the same target state means
 * the first did not leave the primary updated (it failed, or the new primary needs a restart too): the rollout
 * stalls with the reason instead of switching back and forth.
 */
export const rolloutSwitchoverId = (ctx: ClusterContext) => `rollout-g${ctx.generation}-${fnv1a(ctx.rollout.desiredImage ?? '')}`;

/** FNV-1a, 32 bits, hex: a short stable tag for a string (no randomness, no I/O). */
export function fnv1a(text: string): string {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) { h ^= text.charCodeAt(i); h = Math.imul(h, 0x01000193) >>> 0; }
  return h.toString(16).padStart(8, '0');
}

/** The member the rollout restarted is back: serving, on the wanted image, nothing pending. */
export function rolledInstanceBack(ctx: ClusterContext): boolean {
  const m = liveMembers(ctx).find((x) => x.name === ctx.rollout.rollingInstance);
  if (!m) return true;
  return serving(m) && !memberNeedsRestart(ctx, m) && (ctx.rollout.desiredImage === null || m.image === ctx.rollout.desiredImage || m.image === undefined);
}
