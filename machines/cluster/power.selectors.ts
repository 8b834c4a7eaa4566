// Snapshot → what the platform must keep stopped, and the status pieces of hibernation and fencing (ADR 0028).
// Platforms read selectStoppedInstances like they read routes: the cluster machine decides, they enforce.
import type { SnapshotFrom } from 'xstate';
import type { ClusterMachine } from './cluster.machine.js';
import { condition, type ConditionIntent } from '../shared/conditions.js';
import { stoppedInstances, fencedMembers, parseHibernation, wantsHibernation, HIBERNATION_ANNOTATION, type PowerStage } from './power.logic.js';

type ClusterSnapshot = SnapshotFrom<ClusterMachine>;

export function powerStage(snapshot: ClusterSnapshot): PowerStage {
  if (snapshot.matches('hibernating')) return 'hibernating';
  if (snapshot.matches('hibernated')) return 'hibernated';
  if (snapshot.matches('waking') || snapshot.matches('wakeStalled')) return 'waking';
  return 'running';
}

/** The instances to keep stopped, in stop order (empty for a sharded or deleting cluster: nothing to hold). */
export function selectStoppedInstances(snapshot: ClusterSnapshot): string[] {
  if (snapshot.context.spec.sharding || snapshot.matches('deleting') || snapshot.matches('deleted')) return [];
  return stoppedInstances(snapshot.context, powerStage(snapshot));
}

/** Fenced and Hibernated conditions: present once either was asked for, so clusters that never use them keep their list. */
export function powerConditions(snapshot: ClusterSnapshot): ConditionIntent[] {
  const ctx = snapshot.context;
  const out: ConditionIntent[] = [];
  const fenced = fencedMembers(ctx);
  if (ctx.fencingAnnotation !== null || ctx.fencedInstances.length || ctx.fencingError) {
    const list = fenced.length ? `fenced: ${fenced.join(', ')} (postgres stopped, no routes, never a failover candidate)` : 'no instance is fenced';
    out.push(ctx.fencingError
      ? condition('Fenced', fenced.length > 0, 'InvalidAnnotation', `${ctx.fencingError}; ${list}`)
      : condition('Fenced', fenced.length > 0, fenced.length ? 'InstancesFenced' : 'NoneFenced', list));
  }
  const stage = powerStage(snapshot);
  const hib = parseHibernation(ctx.hibernationAnnotation);
  if (ctx.hibernationAnnotation !== null || ctx.spec.hibernation !== undefined || stage !== 'running') {
    const wanted = wantsHibernation(ctx);
    const message = stage === 'hibernated' ? `every instance stopped cleanly; data kept; ${ctx.currentPrimary ?? 'the primary'} starts first on wake`
      : stage === 'hibernating' ? 'stopping instances, primary first'
        : stage === 'waking' ? `starting ${ctx.currentPrimary ?? 'the primary'} first, then the replicas`
          : wanted ? 'hibernation requested; waiting for the current operation to finish' : 'not hibernated';
    out.push(hib.error
      ? condition('Hibernated', stage === 'hibernated', 'InvalidAnnotation', `${hib.error} (${HIBERNATION_ANNOTATION}); ${message}`)
      : condition('Hibernated', stage === 'hibernated', stage === 'running' ? (wanted ? 'Requested' : 'Awake') : stage.slice(0, 1).toUpperCase() + stage.slice(1), message));
  }
  if (snapshot.matches('wakeStalled')) out.push(condition('WakeStalled', true, 'PrimaryNotBack', wakeStalledMessage(ctx)));
  return out;
}

/** Which instance waking waits for, what it last said, and what to do. */
export function wakeStalledMessage(ctx: ClusterSnapshot['context']): string {
  const p = ctx.members.find((m) => m.name === ctx.currentPrimary);
  const why = p ? `phase ${p.phase}${p.reason ? `: ${p.reason}` : ''}` : 'not a member any more';
  return `waking: primary ${ctx.currentPrimary ?? '?'} has not come back (${why}); the replicas stay stopped until it runs. `
    + `Check that instance's log, fix the cause and waking goes on by itself; or hibernate again (pgop local hibernate ${ctx.name} on)`;
}
