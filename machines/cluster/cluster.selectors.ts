// Snapshot → PostgresCluster status. Pure: the runtime writes the result through the one status door.
import type { SnapshotFrom, ActorRefFrom } from 'xstate';
import type { ClusterMachine } from './cluster.machine.js';
import type { instanceMachine } from '../instance/instance.machine.js';
import type { ClusterContext, Member } from './cluster.types.js';
import type { InstanceObservation } from '../shared/observation.js';
import type { InstanceStatus } from '../../crds/postgrescluster.js';
import { condition, type ConditionIntent } from '../shared/conditions.js';
import { lsnDiff } from '../shared/lsn.js';
import { liveMembers } from './cluster.logic.js';
import { memberNeedsRestart, fencedBehind, rolloutBlockedMessage } from './rollout.logic.js';
import type { PlanOutput } from '../failover/failover.types.js';
import { powerConditions } from './power.selectors.js';

export type ClusterSnapshot = SnapshotFrom<ClusterMachine>;

export type ClusterPhase =
  | 'Provisioning' | 'Scaling' | 'Ready' | 'Degraded' | 'FailingOver' | 'SwitchingOver' | 'Deleting' | 'Failed'
  | 'Hibernating' | 'Hibernated' | 'Waking' | 'Upgrading';

export interface ClusterStatusIntent {
  failovers: PlanOutput[];
  phase: ClusterPhase;
  phaseReason: string;
  conditions: ConditionIntent[];
  currentPrimary?: string;
  instances: InstanceStatus[];
  readyInstances: number;
  timeline?: number;
  observedGeneration: number;
  shards?: { name: string; cluster: string; phase: string; readyInstances: number }[];
  shardsReady?: string;
  pendingRestart?: string[];
  image?: string;
}

export function selectPhase(snapshot: ClusterSnapshot): ClusterPhase {
  const ctx = snapshot.context;
  if (snapshot.matches('deleting') || snapshot.matches('deleted') || snapshot.matches('deletingShards')) return 'Deleting';
  if (snapshot.matches('sharded')) {
    if (allShardsReady(ctx)) return 'Ready';
    return ctx.initialized ? 'Degraded' : 'Provisioning';
  }
  if (snapshot.matches('failed')) return 'Failed';
  if (snapshot.matches('failingOver')) return 'FailingOver';
  if (snapshot.matches('switchingOver')) return 'SwitchingOver';
  if (snapshot.matches('hibernating')) return 'Hibernating';
  if (snapshot.matches('hibernated')) return 'Hibernated';
  if (snapshot.matches('waking') || snapshot.matches('wakeStalled')) return 'Waking';
  if (snapshot.matches('rollingUpdate')) return 'Upgrading';
  // A reload is brief and keeps every instance serving: the cluster stays Ready (or Degraded) meanwhile.
  if (snapshot.matches('reconfiguring')) return liveMembers(ctx).every((m) => m.phase === 'running') ? 'Ready' : 'Degraded';
  if (snapshot.matches('ready')) return 'Ready';
  if (snapshot.matches('degraded')) return 'Degraded';
  if (snapshot.matches('scaling') || snapshot.matches('scalingDown')) return ctx.initialized ? 'Scaling' : 'Provisioning';
  return 'Provisioning';
}

/** Every shard of a sharded cluster reports Ready. */
export function allShardsReady(ctx: ClusterContext): boolean {
  return ctx.shards.length === (ctx.spec.sharding?.shards ?? -1) && ctx.shards.every((x) => x.phase === 'Ready');
}

function shardedReason(snapshot: ClusterSnapshot): string {
  const ctx = snapshot.context;
  const total = ctx.spec.sharding?.shards ?? 0;
  const ready = ctx.shards.filter((x) => x.phase === 'Ready').length;
  if (snapshot.matches('deletingShards')) return `removing shards and ShardRanges${ctx.lastError ? `: ${ctx.lastError}` : ''}`;
  if (snapshot.matches({ sharded: 'applying' })) return `creating ${total} shards and their ShardRanges`;
  if (snapshot.matches({ sharded: 'retrying' })) return `creating shards failed, retrying: ${ctx.lastError ?? 'unknown error'}`;
  const waiting = ctx.shards.filter((x) => x.phase !== 'Ready').map((x) => `${x.shard} ${x.phase}`);
  return `${ready} of ${total} shards ready${waiting.length ? `; ${waiting.join(', ')}` : ''}`;
}

function selectShardedStatus(snapshot: ClusterSnapshot, phase: ClusterPhase): ClusterStatusIntent {
  const ctx = snapshot.context;
  const reason = shardedReason(snapshot);
  const total = ctx.spec.sharding?.shards ?? 0;
  const ready = ctx.shards.filter((x) => x.phase === 'Ready').length;
  const progressing = phase === 'Provisioning' || phase === 'Deleting';
  return {
    phase, phaseReason: reason, failovers: [], instances: [], observedGeneration: ctx.generation,
    readyInstances: ctx.shards.reduce((n, x) => n + x.readyInstances, 0),
    shards: ctx.shards.map((x) => ({ name: x.shard, cluster: x.cluster, phase: x.phase, readyInstances: x.readyInstances })),
    shardsReady: `${ready}/${total}`,
    conditions: [
      condition('Ready', phase === 'Ready', phase === 'Ready' ? 'AllShardsReady' : phase, reason),
      condition('Progressing', progressing, progressing ? phase : 'Idle', progressing ? reason : 'no operation in progress'),
      condition('Degraded', phase === 'Degraded', phase === 'Degraded' ? 'ShardNotReady' : 'AllShardsReady', phase === 'Degraded' ? reason : 'every shard is ready'),
    ],
  };
}

export function selectObservations(snapshot: ClusterSnapshot): Record<string, InstanceObservation | null> {
  const out: Record<string, InstanceObservation | null> = {};
  for (const m of snapshot.context.members) {
    const child = snapshot.children[m.name] as ActorRefFrom<typeof instanceMachine> | undefined;
    out[m.name] = child?.getSnapshot().context.observed ?? null;
  }
  return out;
}

function phaseReason(snapshot: ClusterSnapshot, phase: ClusterPhase): string {
  const ctx = snapshot.context;
  const live = liveMembers(ctx);
  const running = live.filter((m) => m.phase === 'running').length;
  switch (phase) {
    case 'Ready': return `${running} of ${ctx.spec.instances} instances ready`;
    case 'Failed': return ctx.lastError ?? 'failed';
    case 'Deleting': return 'removing instances and cluster resources';
    case 'Hibernating': return `stopping instances cleanly, primary ${ctx.currentPrimary ?? '?'} first (${live.filter((m) => ctx.goneInstances.includes(m.name)).length} of ${live.length} stopped)`;
    case 'Hibernated': return `hibernated: ${live.length} instances stopped, data kept; primary ${ctx.currentPrimary ?? '?'}`;
    case 'Waking': return `waking: starting primary ${ctx.currentPrimary ?? '?'} first`;
    case 'FailingOver':
    case 'SwitchingOver': {
      const child = snapshot.children[phase === 'FailingOver' ? 'failover' : 'switchover'] as { getSnapshot(): { value: unknown; context: { waitingReason?: string | null; chosen?: string | null; candidate?: string | null } } } | undefined;
      const s = child?.getSnapshot();
      const step = typeof s?.value === 'string' ? s.value : 'starting';
      const target = s?.context.chosen ?? s?.context.candidate;
      const waiting = s?.context.waitingReason ? `: ${s.context.waitingReason}` : '';
      return `${phase === 'FailingOver' ? 'failover' : 'switchover'} from ${ctx.planFrom ?? '?'}${target ? ` to ${target}` : ''}: ${step}${waiting}`;
    }
    case 'Upgrading': return rolloutReason(snapshot);
    case 'Degraded': {
      const bad = live.filter((m) => m.phase !== 'running').map((m) => `${m.name} ${m.phase}${m.reason ? ` (${m.reason})` : ''}`);
      return `${running} of ${ctx.spec.instances} instances ready; ${bad.join(', ')}`;
    }
    default: {
      if (snapshot.matches('provisioning')) return ctx.lastError ? `provisioning: ${ctx.lastError}` : 'creating secrets and endpoints';
      if (snapshot.matches('bootstrappingPrimary')) return `initializing primary ${ctx.members[0]?.name ?? ''}`.trim();
      const busy = ctx.members.find((m) => m.phase !== 'running' && m.phase !== 'removed');
      if (snapshot.matches('scalingDown') && busy) return `removing ${busy.name}`;
      const pct = busy?.progress?.percent != null ? ` ${busy.progress.percent}%` : '';
      if (busy) return `${busy.phase === 'reservingSlot' ? 'reserving slot for' : busy.phase === 'removing' ? 'removing' : 'cloning'} ${busy.name}${pct} (${running} of ${ctx.spec.instances} ready)`;
      return `${running} of ${ctx.spec.instances} instances ready`;
    }
  }
}

// --- rolling updates (v4, ADR 0026) ---
function rolloutReason(snapshot: ClusterSnapshot): string {
  const ctx = snapshot.context;
  const r = ctx.rollout;
  if (snapshot.matches('reconfiguring')) return `applying the configuration of generation ${ctx.generation} to every instance`;
  const waiting = liveMembers(ctx).filter((m) => memberNeedsRestart(ctx, m)).map((m) => m.name);
  const done = r.rolled.length ? `; restarted ${r.rolled.join(', ')}` : '';
  if (snapshot.matches({ rollingUpdate: 'restarting' }) || snapshot.matches({ rollingUpdate: 'waitingForInstance' })) {
    return `rolling update: restarting ${r.rollingInstance ?? '?'}${r.desiredImage ? ` on ${r.desiredImage}` : ''}${done}; to do: ${waiting.join(', ') || 'none'}`;
  }
  if (snapshot.matches({ rollingUpdate: 'awaitingSwitchover' })) return awaitingSwitchoverMessage(ctx);
  if (snapshot.matches({ rollingUpdate: 'stalled' })) return `rolling update stalled: ${ctx.lastError ?? 'unknown error'}`;
  return `rolling update: waiting for every instance to be ready${done}; to do: ${waiting.join(', ') || 'none'}`;
}

const awaitingSwitchoverMessage = (ctx: ClusterContext) =>
  `every replica is updated; primary ${ctx.currentPrimary ?? '?'} waits for a switchover (primaryUpdateStrategy: supervised): run \`pgop local switchover ${ctx.name}\` (or \`kubectl pgop switchover\`)`;

function rolloutConditions(snapshot: ClusterSnapshot): ConditionIntent[] {
  const ctx = snapshot.context;
  const waiting = snapshot.matches({ rollingUpdate: 'awaitingSwitchover' });
  // Shown while a rollout runs (kubectl wait --for=condition=PrimaryUpdatePending works on it); absent otherwise.
  const out = snapshot.matches('rollingUpdate') ? [condition('PrimaryUpdatePending', waiting, waiting ? 'WaitingForSwitchover' : 'NotWaiting',
    waiting ? awaitingSwitchoverMessage(ctx) : 'the primary is not waiting for a supervised switchover')] : [];
  if (ctx.rollout.imageError) out.push(condition('ImageResolved', false, 'ImageNotFound', ctx.rollout.imageError));
  const fenced = fencedBehind(ctx);
  if (fenced.length) out.push(condition('RolloutBlocked', true, 'InstanceFenced', rolloutBlockedMessage(ctx, fenced)));
  return out;
}

function instanceStatus(ctx: ClusterContext, m: Member, obs: InstanceObservation | null, primaryLsn: string | null): InstanceStatus {
  const role = obs?.role && obs.role !== 'unknown' ? obs.role : m.name === ctx.currentPrimary ? 'primary' : m.bootstrap === 'clone' ? 'replica' : 'unknown';
  const s: InstanceStatus = { name: m.name, role, ready: m.phase === 'running' && (obs?.ready ?? false), phase: m.phase };
  if (m.pendingRestart) s.pendingRestart = true;
  if (m.image) s.image = m.image;
  if (m.progress) s.progress = m.progress.percent === null ? m.progress.detail : `${m.progress.detail} ${m.progress.percent}%`;
  if (obs?.timeline != null) s.timeline = obs.timeline;
  if (obs?.currentLsn) s.currentLsn = obs.currentLsn;
  if (obs?.receiveLsn) s.receiveLsn = obs.receiveLsn;
  if (obs?.replayLsn) s.replayLsn = obs.replayLsn;
  if (role === 'primary') s.lagBytes = 0;
  else if (primaryLsn && obs?.replayLsn) s.lagBytes = lsnDiff(primaryLsn, obs.replayLsn);
  return s;
}

/** The primary's timeline; right after a promotion its last report may still show the old one. */
function timelineOf(primaryObs: InstanceObservation | null, history: PlanOutput[]): number | null {
  const promoted = [...history].reverse().find((h) => h.outcome === 'promoted')?.timeline ?? null;
  const observed = primaryObs?.role === 'primary' ? primaryObs.timeline : null;
  if (observed === null) return promoted;
  return promoted === null ? observed : Math.max(observed, promoted);
}

/**
 * With a repository: is the primary's WAL reaching it? A failure newer than the last success (pg_stat_archiver)
 * is a gap in the making, so it shows as ContinuousArchiving=False with the segment and time, not silently.
 */
export function continuousArchiving(primaryObs: InstanceObservation | null): ConditionIntent {
  const a = primaryObs?.archiver;
  if (!a) return condition('ContinuousArchiving', false, 'Unknown', 'no report from the primary\'s archiver yet');
  // A repository added to a running cluster: archive_mode waits for postgres's restart (the rolling update).
  if (a.archiveMode === 'off') return condition('ContinuousArchiving', false, 'ArchiveModeOff', 'archive_mode is off until the primary restarts (a rolling update applies the repository\'s settings)');
  const failing = !!a.lastFailedAt && (!a.lastArchivedAt || a.lastFailedAt > a.lastArchivedAt);
  if (failing) return condition('ContinuousArchiving', false, 'ArchiveCommandFailing', `archiving ${a.lastFailedWal ?? '?'} failed at ${a.lastFailedAt} (${a.failedCount} failures so far; see the primary's postgres log)`);
  if (a.repositoryPending) return condition('ContinuousArchiving', false, 'RepositoryPending', `the new repository is not archived into yet: ${a.repositoryPending}`);
  return condition('ContinuousArchiving', true, 'Archiving', a.lastArchivedWal ? `last archived ${a.lastArchivedWal} at ${a.lastArchivedAt}` : 'nothing to archive yet');
}

export function selectStatus(snapshot: ClusterSnapshot): ClusterStatusIntent {
  const ctx = snapshot.context;
  const phase = selectPhase(snapshot);
  if (ctx.spec.sharding) return selectShardedStatus(snapshot, phase);
  const obs = selectObservations(snapshot);
  const primaryObs = ctx.currentPrimary ? obs[ctx.currentPrimary] ?? null : null;
  const instances = ctx.members.map((m) => instanceStatus(ctx, m, obs[m.name] ?? null, primaryObs?.currentLsn ?? null));
  const readyInstances = instances.filter((i) => i.ready).length;
  const reason = phaseReason(snapshot, phase);
  const progressing = phase === 'Provisioning' || phase === 'Scaling' || phase === 'FailingOver' || phase === 'SwitchingOver' || phase === 'Deleting'
    || phase === 'Hibernating' || phase === 'Waking' || phase === 'Upgrading';
  const waiting = phase === 'FailingOver' && reason.includes(': waitingForSafeCandidate');
  // Stopped on purpose: not degraded, but not "every instance is ready" either.
  const asleep = phase === 'Hibernating' || phase === 'Hibernated' || phase === 'Waking';
  const conditions = [
    condition('Ready', phase === 'Ready', phase === 'Ready' ? 'ClusterReady' : phase, reason),
    condition('Progressing', progressing, progressing ? phase : 'Idle', progressing ? reason : 'no operation in progress'),
    condition('Degraded', phase === 'Degraded' || phase === 'Failed', phase === 'Degraded' || phase === 'Failed' || asleep ? phase : 'AllInstancesReady',
      phase === 'Degraded' || phase === 'Failed' || asleep ? reason : 'every instance is ready'),
    condition('SafeFailoverCandidate', !waiting, waiting ? 'WaitingForSafeCandidate' : 'CandidateAvailable',
      waiting ? reason : 'a failover would find a standby holding every acknowledged commit, or none is needed'),
  ];
  const archiving = ctx.spec.backup ? continuousArchiving(primaryObs) : null;
  if (archiving) conditions.push(archiving);
  conditions.push(...powerConditions(snapshot));
  conditions.push(...rolloutConditions(snapshot));
  const pendingRestart = ctx.members.filter((m) => m.pendingRestart).map((m) => m.name);
  return {
    phase, phaseReason: reason, conditions, instances, readyInstances, observedGeneration: ctx.generation, failovers: ctx.history,
    pendingRestart,
    ...(ctx.rollout.desiredImage ? { image: `${ctx.rollout.desiredImage}${ctx.rollout.imageSource ? ` (${ctx.rollout.imageSource})` : ''}` } : {}),
    ...(ctx.currentPrimary ? { currentPrimary: ctx.currentPrimary } : {}),
    ...(timelineOf(primaryObs, ctx.history) !== null ? { timeline: timelineOf(primaryObs, ctx.history) as number } : {}),
  };
}
