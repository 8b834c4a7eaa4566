// Pure decisions for hibernation and fencing (issue #11, ADR 0028): what the annotations ask for, which instances
// the platform must keep stopped, and in which order. The cluster machine decides; platforms only enforce the
// published list (like routes), so the same decision holds on every platform.
import type { ClusterContext, Member } from './cluster.types.js';

export const HIBERNATION_ANNOTATION = 'postgres.keiailab.io/hibernation';
export const FENCED_INSTANCES_ANNOTATION = 'postgres.keiailab.io/fenced-instances';

/** Every instance of the cluster, in `fenced-instances`. */
export const ALL_INSTANCES = '*';

export interface FencingRequest { instances: string[]; error: string | null }

const FENCING_FIX = `set ${FENCED_INSTANCES_ANNOTATION} to a JSON array of this cluster's instance names (e.g. '["demo-2"]'), or '["*"]' for every instance, or remove it to lift fencing`;

/**
 * Validates the `fenced-instances` annotation against the cluster's members. Bad content never fences anything new:
 * the caller keeps the previous list and reports `error` (which names the annotation and the fix).
 */
export function parseFencedInstances(raw: string | null, members: string[]): FencingRequest {
  if (raw === null || raw.trim() === '') return { instances: [], error: null };
  let value: unknown;
  try { value = JSON.parse(raw); } catch { return { instances: [], error: `${FENCED_INSTANCES_ANNOTATION} is not JSON; ${FENCING_FIX}` }; }
  if (!Array.isArray(value) || !value.every((v): v is string => typeof v === 'string')) {
    return { instances: [], error: `${FENCED_INSTANCES_ANNOTATION} must be a JSON array of strings; ${FENCING_FIX}` };
  }
  const names = [...new Set(value)];
  if (names.includes(ALL_INSTANCES)) {
    return names.length === 1 ? { instances: [ALL_INSTANCES], error: null }
      : { instances: [], error: `${FENCED_INSTANCES_ANNOTATION}: "*" already means every instance and cannot be combined with names; ${FENCING_FIX}` };
  }
  const unknown = names.filter((n) => !members.includes(n));
  if (unknown.length) {
    return { instances: [], error: `${FENCED_INSTANCES_ANNOTATION} names ${unknown.map((n) => JSON.stringify(n.slice(0, 63))).join(', ')}, not an instance of this cluster (instances: ${members.join(', ') || 'none yet'}); ${FENCING_FIX}` };
  }
  return { instances: names.sort(), error: null };
}

export interface HibernationRequest { on: boolean | null; error: string | null }

/** `on` / `off`; anything else is reported and ignored (null: the annotation does not decide). */
export function parseHibernation(raw: string | null): HibernationRequest {
  if (raw === null) return { on: null, error: null };
  const v = raw.trim().toLowerCase();
  if (v === 'on') return { on: true, error: null };
  if (v === 'off') return { on: false, error: null };
  return { on: null, error: `${HIBERNATION_ANNOTATION} must be "on" or "off" (got ${JSON.stringify(raw.slice(0, 40))}); set it to on or off, or remove it to follow spec.hibernation` };
}

/** The annotation, when valid, wins over spec.hibernation (it is the imperative switch the CLI writes). */
export function wantsHibernation(ctx: ClusterContext): boolean {
  const fromAnnotation = parseHibernation(ctx.hibernationAnnotation).on;
  return fromAnnotation ?? ctx.spec.hibernation === 'on';
}

export const isFenced = (ctx: Pick<ClusterContext, 'fencedInstances'>, instance: string) =>
  ctx.fencedInstances.includes(ALL_INSTANCES) || ctx.fencedInstances.includes(instance);

const present = (ctx: ClusterContext): Member[] => ctx.members.filter((m) => m.phase !== 'removing' && m.phase !== 'removed');

/** Members in the order they stop: the primary first, so every replica has its final WAL (shutdown checkpoint). */
export function primaryFirst(ctx: ClusterContext): string[] {
  const names = present(ctx).map((m) => m.name);
  const p = ctx.currentPrimary;
  return p && names.includes(p) ? [p, ...names.filter((n) => n !== p)] : names;
}

export const fencedMembers = (ctx: ClusterContext) => present(ctx).map((m) => m.name).filter((n) => isFenced(ctx, n));

/** Where the cluster is in the hibernation cycle, as far as stopping instances goes. */
export type PowerStage = 'running' | 'hibernating' | 'hibernated' | 'waking';

/**
 * The instances the platform must keep stopped, in stop order. Hibernating: all of them, primary first. Waking:
 * everything but the primary until the primary runs again (the same primary starts first and takes its lease back
 * before any replica looks for it). Otherwise only the fenced ones.
 */
export function stoppedInstances(ctx: ClusterContext, stage: PowerStage): string[] {
  if (stage === 'hibernating' || stage === 'hibernated') return primaryFirst(ctx);
  const fenced = fencedMembers(ctx);
  if (stage === 'waking') {
    const primary = ctx.members.find((m) => m.name === ctx.currentPrimary);
    if (primary && primary.phase !== 'running' && !isFenced(ctx, primary.name)) return primaryFirst(ctx).filter((n) => n !== primary.name);
  }
  return primaryFirst(ctx).filter((n) => fenced.includes(n));
}

/** Every member the platform reports gone (agent and postgres stopped): hibernation is complete. */
export const allStopped = (ctx: ClusterContext) => present(ctx).every((m) => ctx.goneInstances.includes(m.name));

/** The list a `fence` / `unfence` verb writes: added to, or taken from, the current annotation ("*" lifts all). */
export function nextFencedList(current: string[], instances: string[], fence: boolean): string[] {
  if (fence) return instances.includes(ALL_INSTANCES) ? [ALL_INSTANCES] : [...new Set([...current, ...instances])];
  return instances.includes(ALL_INSTANCES) ? [] : current.filter((i) => !instances.includes(i));
}
