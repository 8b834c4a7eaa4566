// Model-based test: xstate/graph walks the cluster machine with synthetic events (the model), and every path is
// replayed against the same machine wired to fake effects and driven the way the platform drives it: agent reports,
// lost instances, effects finishing. After each step the replayed actor must be in the model's state.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createActor, fromPromise, fromCallback, type SnapshotFrom } from 'xstate';
import { getShortestPaths } from 'xstate/graph';
import { clusterMachine } from './cluster.machine.js';
import { instanceMachine } from '../instance/instance.machine.js';
import { replicaToRemove, liveMembers } from './cluster.logic.js';
import type { ClusterEvent } from './cluster.types.js';
import type { InstanceEffectInput } from '../instance/instance.types.js';
import { selectPhase, selectStatus } from './cluster.selectors.js';
import { spec, settle } from '../../tests/fixtures/cluster-fakes.js';
import { primaryUp, replicaUp, bootstrapFailed } from '../../tests/fixtures/observations.js';

type Snap = SnapshotFrom<typeof clusterMachine>;
type Ev = ClusterEvent | { type: string; [k: string]: unknown };

const input = { namespace: 'default', name: 'demo', uid: 'uid-demo', spec: spec(2), generation: 1 };

function modelEvents(s: Snap): Ev[] {
  const ctx = s.context;
  if (s.matches('deleted')) return [];
  if (s.matches('deleting')) return [{ type: 'xstate.done.actor.deprovisionCluster' }];
  const out: Ev[] = [{ type: 'cluster.deleted' }];
  // One lost instance at a time keeps the graph small; the combinations add nothing the machine distinguishes.
  const anyLost = ctx.members.some((m) => m.phase === 'lost');
  if (s.matches('reconfiguring')) out.push({ type: 'xstate.done.actor.applyConfiguration' });
  if (s.matches('provisioning')) out.push({ type: 'xstate.done.actor.provisionCluster' }, { type: 'xstate.error.actor.provisionCluster', error: 'boom' });
  for (const m of ctx.members) {
    const changed = (phase: string) => out.push({ type: 'instance.phaseChanged', instance: m.name, phase });
    switch (m.phase) {
      case 'removing': changed('removed'); break;
      case 'running': if (!anyLost) changed('lost'); break;
      case 'lost': changed('running'); break;
      case 'failed': case 'removed': break;
      default:
        changed('running');
        if (ctx.nextSerial <= 4) changed('failed');
    }
  }
  const n = liveMembers(ctx).length;
  // Serials never repeat, so unbounded scaling would be an infinite graph: cap the names the model may use.
  for (const instances of [n - 1, n + 1]) {
    if (instances >= 1 && instances <= 3 && (instances < n || ctx.nextSerial <= 4)) out.push({ type: 'spec.changed', spec: spec(instances), generation: ctx.generation + 1 });
  }
  return out;
}

/** The system under test: real machines, effects that the driver completes by hand. */
function sut() {
  const pending = new Map<string, () => void>();
  const failing = new Map<string, (e: Error) => void>();
  const manual = (key: string) => new Promise<void>((resolve, reject) => { pending.set(key, resolve); failing.set(key, reject); });
  const instance = instanceMachine.provide({
    actors: {
      reserveReplicationSlot: fromPromise(async () => {}),
      createInstance: fromPromise(async () => {}),
      cloneInstance: fromCallback(({ sendBack }) => { queueMicrotask(() => sendBack({ type: 'step.succeeded', result: null })); }),
      removeInstance: fromPromise<void, InstanceEffectInput>(({ input: i }) => manual(`remove:${i.instance}`)),
      releaseReplicationSlot: fromPromise(async () => {}),
    },
  });
  const machine = clusterMachine.provide({
    actors: {
      instance,
      provisionCluster: fromPromise(() => manual('provision')),
      deprovisionCluster: fromPromise(() => manual('deprovision')),
      watchImage: fromCallback(() => undefined),
      applyConfiguration: fromPromise(() => manual('configure')),
      restartInstance: fromPromise(async () => {}),
    },
  });
  const actor = createActor(machine, { input }).start();
  const complete = async (key: string, error?: string) => {
    for (let i = 0; i < 5 && !pending.has(key); i++) await settle();
    const done = pending.get(key);
    assert.ok(done, `effect ${key} was never started`);
    pending.delete(key);
    if (error) failing.get(key)?.(new Error(error)); else done();
    for (let i = 0; i < 5; i++) await settle();
  };
  return { actor, complete };
}

async function drive(s: ReturnType<typeof sut>, event: Ev) {
  const role = (name: string) => (name === s.actor.getSnapshot().context.currentPrimary || name === 'demo-1' ? primaryUp() : replicaUp());
  switch (event.type) {
    case 'xstate.init': return;
    case 'xstate.done.actor.provisionCluster': return s.complete('provision');
    case 'xstate.error.actor.provisionCluster': return s.complete('provision', 'boom');
    case 'xstate.done.actor.deprovisionCluster': return s.complete('deprovision');
    case 'xstate.done.actor.applyConfiguration': return s.complete('configure');
    case 'instance.phaseChanged': {
      const name = event.instance as string;
      if (event.phase === 'running') s.actor.send({ type: 'instance.reported', instance: name, observation: role(name) });
      else if (event.phase === 'lost') s.actor.send({ type: 'instance.lost', instance: name, reason: 'drill' });
      else if (event.phase === 'failed') s.actor.send({ type: 'instance.reported', instance: name, observation: bootstrapFailed('clone failed') });
      else if (event.phase === 'removed') return s.complete(`remove:${name}`);
      for (let i = 0; i < 3; i++) await settle();
      return;
    }
    default:
      s.actor.send(event as ClusterEvent);
      for (let i = 0; i < 3; i++) await settle();
  }
}

test('every shortest path of the cluster machine replays on the wired machine', async () => {
  const paths = getShortestPaths(clusterMachine, {
    input,
    events: (s) => modelEvents(s as Snap) as never,
    serializeState: (s) => JSON.stringify([s.value, (s as Snap).context.members.map((m) => `${m.name}:${m.phase}`), (s as Snap).context.spec.instances, (s as Snap).context.initialized]),
    limit: 20000,
  });
  assert.ok(paths.length > 40, `expected a rich graph, got ${paths.length} paths`);
  const reached = new Set<string>();
  for (const path of paths) {
    const s = sut();
    for (const step of path.steps) {
      await drive(s, step.event as Ev);
      const model = step.state as Snap;
      const real = s.actor.getSnapshot();
      const where = `${path.steps.map((x) => x.event.type + ('instance' in x.event ? `(${String(x.event.instance)}:${String((x.event as { phase?: string }).phase)})` : '')).join(' → ')}`;
      const phases = (x: Snap) => x.context.members.map((m) => `${m.name}:${m.phase}`).join(',');
      assert.deepEqual(real.value, model.value, `state after ${where}: model ${phases(model)}, replay ${phases(real)}`);
      assert.deepEqual(real.context.members.map((m) => m.name), model.context.members.map((m) => m.name), `members after ${where}`);
      assert.equal(selectPhase(real), selectPhase(model), `phase after ${where}`);
      // The status never names a primary that is not a member, and never counts more ready instances than desired.
      const status = selectStatus(real);
      if (status.currentPrimary) assert.ok(real.context.members.some((m) => m.name === status.currentPrimary));
      assert.ok(status.readyInstances <= real.context.members.length);
      reached.add(JSON.stringify(real.value));
    }
    s.actor.stop();
  }
  for (const state of ['provisioning', 'bootstrappingPrimary', 'scaling', 'scalingDown', 'ready', 'degraded', 'failed', 'deleting', 'deleted']) {
    assert.ok(reached.has(JSON.stringify(state)), `no path reached ${state}`);
  }
  // The model agrees with the logic: scale-down never picks the primary.
  for (const path of paths) {
    const ctx = (path.state as Snap).context;
    assert.notEqual(replicaToRemove(ctx)?.name ?? null, ctx.currentPrimary ?? 'none');
  }
});
