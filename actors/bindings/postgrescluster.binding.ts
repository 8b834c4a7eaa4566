// PostgresCluster ⇄ cluster machine: input from the resource, events from its changes, status from snapshots.
import type { Resource } from '../../crds/definition.js';
import type { PostgresClusterSpec, FailoverRecord } from '../../crds/postgrescluster.js';
import type { PlanOutput } from '../../machines/failover/failover.types.js';
import { clusterMachine, type ClusterMachine } from '../../machines/cluster/cluster.machine.js';
import type { ClusterEvent } from '../../machines/cluster/cluster.types.js';
import { selectStatus, selectPhase } from '../../machines/cluster/cluster.selectors.js';
import { mergeConditions, type Condition } from '../status/conditions.js';
import type { KindBinding, Notice } from '../binding.js';
import { HIBERNATION_ANNOTATION, FENCED_INSTANCES_ANNOTATION } from '../../machines/cluster/power.logic.js';

/** A planned switchover is asked for through an annotation (`pgop local switchover` writes it). */
export const SWITCHOVER_ANNOTATION = 'postgres.keiailab.io/switchover';

export function readSwitchoverRequest(r: Resource): { id: string; to: string | null; at: string } | null {
  const raw = r.metadata.annotations?.[SWITCHOVER_ANNOTATION];
  if (!raw) return null;
  try {
    const v = JSON.parse(raw) as { id?: unknown; to?: unknown; at?: unknown };
    if (typeof v.id !== 'string') return null;
    return { id: v.id, to: typeof v.to === 'string' && v.to ? v.to : null, at: typeof v.at === 'string' ? v.at : '' };
  } catch {
    return null;
  }
}

/** Step durations from the timestamps the effects stamped (machines do not read clocks). */
export function withDurations(p: PlanOutput): FailoverRecord {
  const start = Date.parse(p.startedAt);
  let prev = Number.isNaN(start) ? undefined : start;
  const steps = p.steps.map((s) => {
    const at = Date.parse(s.at);
    const out = { step: s.step, at: s.at, ...(s.detail ? { detail: s.detail } : {}), ...(prev !== undefined && !Number.isNaN(at) ? { durationMs: Math.max(0, at - prev) } : {}) };
    if (!Number.isNaN(at)) prev = at;
    return out;
  });
  const finishedAt = p.steps.at(-1)?.at;
  const end = finishedAt ? Date.parse(finishedAt) : NaN;
  return {
    kind: p.kind, outcome: p.outcome, from: p.from, reason: p.reason, startedAt: p.startedAt, steps,
    ...(p.to ? { to: p.to } : {}), ...(p.timeline !== null ? { timeline: p.timeline } : {}),
    ...(finishedAt ? { finishedAt } : {}), ...(!Number.isNaN(start) && !Number.isNaN(end) ? { durationMs: Math.max(0, end - start) } : {}),
  };
}

const title = (w: string) => `${w.slice(0, 1).toUpperCase()}${w.slice(1)}`;

/** A finished plan as a Kubernetes Event. */
export function planNotice(plan: FailoverRecord): Notice {
  return {
    type: plan.outcome === 'failed' ? 'Warning' : 'Normal',
    reason: `${title(plan.kind)}${title(plan.outcome)}`,
    message: `${plan.kind} ${plan.from} → ${plan.to ?? '-'}: ${plan.outcome}${plan.durationMs !== undefined ? ` in ${plan.durationMs} ms` : ''}`,
  };
}

export const postgresClusterBinding: KindBinding<ClusterMachine> = {
  kind: 'PostgresCluster',
  machineId: 'cluster',
  machine: clusterMachine,
  input: (r: Resource) => ({
    namespace: r.metadata.namespace ?? 'default', name: r.metadata.name, uid: r.metadata.uid ?? '',
    spec: r.spec as PostgresClusterSpec, generation: r.metadata.generation ?? 1,
  }),
  eventsFor(r, snapshot) {
    const events: ClusterEvent[] = [];
    if (snapshot.status !== 'active') return events;
    if (r.metadata.deletionTimestamp) {
      if (!snapshot.matches('deleting') && !snapshot.matches('deleted')) events.push({ type: 'cluster.deleted' });
      return events;
    }
    const generation = r.metadata.generation ?? 1;
    if (generation !== snapshot.context.generation) events.push({ type: 'spec.changed', spec: r.spec as PostgresClusterSpec, generation });
    // Hibernation and fencing (ADR 0028): the raw annotations go to the machine, which validates them where used.
    const annotations = r.metadata.annotations ?? {};
    const hibernation = annotations[HIBERNATION_ANNOTATION] ?? null;
    if (hibernation !== snapshot.context.hibernationAnnotation) events.push({ type: 'hibernation.requested', annotation: hibernation });
    const fencing = annotations[FENCED_INSTANCES_ANNOTATION] ?? null;
    // A refused list is re-checked on every pass: the names it lacked may be members by now.
    if (fencing !== snapshot.context.fencingAnnotation || snapshot.context.fencingError !== null) events.push({ type: 'fencing.requested', annotation: fencing });
    const request = readSwitchoverRequest(r);
    if (request && request.id !== snapshot.context.lastSwitchoverRequest) events.push({ type: 'switchover.requested', ...request });
    return events;
  },
  status(snapshot, previous, now) {
    const s = selectStatus(snapshot);
    const conditions = mergeConditions(previous.conditions as Condition[] | undefined, s.conditions, now, s.observedGeneration);
    return { ...s, conditions, failovers: s.failovers.map(withDurations) };
  },
  generationOf: (snapshot) => snapshot.context.generation,
  notices(before, after) {
    // The first snapshot of an actor (spawned or restored) reports nothing: its history is not news.
    if (!before) return [];
    // History is capped, so new plans are those the previous snapshot did not hold, not a length difference.
    const known = new Set(before.context.history.map((p) => JSON.stringify(p)));
    const out = after.context.history.filter((p) => !known.has(JSON.stringify(p))).map((p) => planNotice(withDurations(p)));
    const [from, to] = [selectPhase(before), selectPhase(after)];
    if (from !== to) out.push({ type: to === 'Degraded' || to === 'Failed' ? 'Warning' : 'Normal', reason: to, message: `phase ${from} → ${to}` });
    return out;
  },
};
