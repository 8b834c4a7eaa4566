// Pooler ⇄ pooler machine. Spec changes come from the object; route changes (failover, switchover, replicas
// becoming ready) are noticed by the machine's watchPooler effect, which reads the cluster's published routes.
// Status writes re-trigger this object, so eventsFor only asks for work that a write cannot cause (no loop).
import type { Resource } from '../../crds/definition.js';
import type { PoolerSpec } from '../../crds/pooler.js';
import { poolerMachine, type PoolerMachine } from '../../machines/pooler/pooler.machine.js';
import type { PoolerEvent } from '../../machines/pooler/pooler.types.js';
import { mergeConditions, type Condition } from '../status/conditions.js';
import type { KindBinding } from '../binding.js';

export const poolerBinding: KindBinding<PoolerMachine> = {
  kind: 'Pooler',
  machineId: 'pooler',
  machine: poolerMachine,
  input: (r: Resource) => ({
    namespace: r.metadata.namespace ?? 'default', name: r.metadata.name,
    spec: r.spec as PoolerSpec, generation: r.metadata.generation ?? 1,
  }),
  eventsFor(r, snapshot) {
    const events: PoolerEvent[] = [];
    if (snapshot.status !== 'active') return events;
    // A restored actor lost its retry timer: the resync moves it on.
    const waiting = snapshot.matches('retrying') || snapshot.matches('deleteFailed');
    if (r.metadata.deletionTimestamp) {
      if (!snapshot.matches('deleting') && !snapshot.matches('deleteFailed')) events.push({ type: 'pooler.deleted' });
      else if (waiting) events.push({ type: 'pooler.sync' });
      return events;
    }
    const generation = r.metadata.generation ?? 1;
    if (generation !== snapshot.context.generation) events.push({ type: 'spec.changed', spec: r.spec as PoolerSpec, generation });
    else if (waiting) events.push({ type: 'pooler.sync' });
    return events;
  },
  status(snapshot, previous, now) {
    const ctx = snapshot.context;
    const a = ctx.applied;
    const settled = snapshot.matches('ready') && ctx.appliedGeneration === ctx.generation;
    const routed = a?.target != null;
    const ready = settled && routed && (a?.readyInstances ?? 0) > 0;
    const phase = snapshot.matches('deleting') || snapshot.matches('deleteFailed') ? 'Deleting'
      : ready ? (a?.paused ? 'Paused' : 'Ready') : ctx.error ? 'Degraded' : 'Progressing';
    const message = ctx.error ?? (a && !routed ? `cluster ${ctx.spec.cluster.name} has no ${ctx.spec.type === 'ro' ? 'ready replica' : 'primary'} to route to` : undefined);
    const conditions = mergeConditions(previous.conditions as Condition[] | undefined, [
      { type: 'Ready', status: ready ? 'True' : 'False', reason: ready ? 'Applied' : ctx.error ? 'ApplyFailed' : routed ? 'Applying' : 'NoRoute', message: message ?? 'PgBouncer runs with the current configuration' },
      { type: 'Paused', status: a?.paused ? 'True' : 'False', reason: a?.paused ? 'Paused' : 'Running', message: a?.paused ? 'PAUSE: new queries wait until spec.paused is false' : 'queries flow' },
    ], now, ctx.appliedGeneration ?? 0);
    return {
      phase, conditions, observedGeneration: ctx.appliedGeneration ?? 0,
      ...(message ? { message } : {}),
      ...(a ? { instances: a.instances, readyInstances: a.readyInstances, endpoint: a.endpoint, paused: a.paused, ...(a.target ? { target: a.target } : {}) } : {}),
    };
  },
  generationOf: (snapshot) => snapshot.context.appliedGeneration ?? 0,
  notices(before, after) {
    if (!before) return [];
    const [b, a] = [before.context.applied, after.context.applied];
    const out = [];
    if (b && a && b.target !== a.target && a.target) out.push({ type: 'Normal' as const, reason: 'Rerouted', message: `server connections now go to ${a.target}` });
    if (b && a && b.paused !== a.paused) out.push({ type: 'Normal' as const, reason: a.paused ? 'Paused' : 'Resumed', message: a.paused ? 'PAUSE applied' : 'RESUME applied' });
    return out;
  },
};
