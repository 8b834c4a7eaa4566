// Rolling restarts and image updates in the cluster machine (ADR 0026), driven by the instances' own reports.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createActor, fromPromise } from 'xstate';
import { switchoverMachine } from '../switchover/switchover.machine.js';
import { fakeCluster, spec, settle, readyCluster } from '../../tests/fixtures/cluster-fakes.js';
import { primaryUp, replicaUp, down } from '../../tests/fixtures/observations.js';
import { selectStatus, selectPhase } from './cluster.selectors.js';
import type { PostgresClusterSpec } from '../../crds/postgrescluster.js';
import type { InstanceObservation } from '../shared/observation.js';

const OLD = '/usr/lib/postgresql/15/bin';
const NEW = '/opt/pg15-copy/bin';
type Actor = Awaited<ReturnType<typeof readyCluster>>['actor'];

/** A switchover plan that starts and stays in its first step: the tests look at what started it. */
const idle = fromPromise(() => new Promise<never>(() => undefined));
const pendingSwitchover = switchoverMachine.provide({ actors: Object.fromEntries(
  Object.keys(switchoverMachine.implementations.actors).map((k) => [k, idle])) as never });

/** readyCluster with the pending switchover plan. */
const readyWithPlans = (instances: number, extra: Partial<PostgresClusterSpec> = {}) =>
  readyCluster(instances, { extra, provide: (m) => m.provide({ actors: { switchover: pendingSwitchover } }) });

const withFacts = (o: InstanceObservation, image: string, pendingRestart = false, configGeneration = 1): InstanceObservation => ({ ...o, image, pendingRestart, configGeneration });
async function report(actor: Actor, instance: string, o: InstanceObservation) {
  actor.send({ type: 'instance.reported', instance, observation: o });
  await settle();
}
/** A ready 3-instance cluster on the old image, with the platform's image resolved. */
async function rollingCluster(extra: Partial<PostgresClusterSpec> = {}, instances = 3) {
  const r = await readyWithPlans(instances, extra);
  r.actor.send({ type: 'image.resolved', image: OLD, source: 'installed PostgreSQL 15' });
  await report(r.actor, 'demo-1', withFacts(primaryUp(), OLD));
  for (let i = 2; i <= instances; i++) await report(r.actor, `demo-${i}`, withFacts(replicaUp(), OLD));
  r.log.calls.length = 0;
  return r;
}
const restarts = (calls: string[]) => calls.filter((c) => c.startsWith('restart '));

test('a reload-only change is applied to every instance in place and restarts nothing', async () => {
  const { actor, log } = await rollingCluster();
  actor.send({ type: 'spec.changed', spec: spec(3, { postgresql: { parameters: { work_mem: '8MB' } } }), generation: 2 });
  await settle();
  assert.deepEqual(log.calls, ['configure demo']);
  for (const n of ['demo-1', 'demo-2', 'demo-3']) await report(actor, n, withFacts(n === 'demo-1' ? primaryUp() : replicaUp(), OLD, false, 2));
  assert.equal(actor.getSnapshot().context.rollout.appliedGeneration, 2);
  assert.equal(selectPhase(actor.getSnapshot()), 'Ready');
  assert.deepEqual(restarts(log.calls), []);
});

test('a change needing a restart rolls the replicas one at a time, each back before the next, then switches over', async () => {
  const { actor, log } = await rollingCluster();
  actor.send({ type: 'spec.changed', spec: spec(3, { postgresql: { parameters: { max_connections: '120' } } }), generation: 2 });
  await settle();
  // The primary reports first: nothing is decided until every instance reports the new configuration loaded.
  await report(actor, 'demo-1', withFacts(primaryUp(), OLD, true, 2));
  assert.deepEqual(restarts(log.calls), []);
  assert.ok(actor.getSnapshot().matches({ rollingUpdate: 'choosing' }));
  for (const n of ['demo-2', 'demo-3']) await report(actor, n, withFacts(replicaUp(), OLD, true, 2));
  assert.deepEqual(selectStatus(actor.getSnapshot()).pendingRestart, ['demo-1', 'demo-2', 'demo-3']);
  assert.deepEqual(restarts(log.calls), ['restart demo-2'], 'the first replica restarts first, alone');
  assert.equal(selectPhase(actor.getSnapshot()), 'Upgrading');
  // Down and back, but still pending (an old report): the next one waits.
  await report(actor, 'demo-2', down());
  await report(actor, 'demo-2', withFacts(replicaUp(), OLD, true, 2));
  assert.deepEqual(restarts(log.calls), ['restart demo-2']);
  await report(actor, 'demo-2', withFacts(replicaUp(), OLD, false, 2));
  assert.deepEqual(restarts(log.calls), ['restart demo-2', 'restart demo-3']);
  await report(actor, 'demo-3', withFacts(replicaUp(), OLD, false, 2));
  assert.deepEqual(restarts(log.calls), ['restart demo-2', 'restart demo-3'], 'the primary is never restarted in place while replicas exist');
  const s = actor.getSnapshot();
  assert.ok(s.matches('switchingOver'), `switching over, not ${JSON.stringify(s.value)}`);
  assert.equal(s.context.pendingSwitchoverTarget, 'demo-2');
  assert.match(s.context.lastSwitchoverRequest ?? '', /^rollout-g2-[0-9a-f]{8}$/);
  assert.deepEqual(s.context.rollout.rolled, ['demo-2', 'demo-3']);
  actor.stop();
});

test('an image change rolls the replicas and then the old primary, now a replica, last', async () => {
  const { actor, log } = await rollingCluster();
  actor.send({ type: 'image.resolved', image: NEW, source: 'spec.imageName' });
  await settle();
  assert.deepEqual(restarts(log.calls), ['restart demo-2']);
  await report(actor, 'demo-2', withFacts(replicaUp(), NEW));
  await report(actor, 'demo-3', withFacts(replicaUp(), NEW));
  assert.deepEqual(restarts(log.calls), ['restart demo-2', 'restart demo-3']);
  assert.ok(actor.getSnapshot().matches('switchingOver'));
  actor.stop();
});

test('a single instance is restarted in place (there is nobody to switch over to)', async () => {
  const { actor, log } = await rollingCluster({}, 1);
  actor.send({ type: 'image.resolved', image: NEW, source: 'spec.imageName' });
  await settle();
  assert.deepEqual(restarts(log.calls), ['restart demo-1']);
  await report(actor, 'demo-1', withFacts(primaryUp(), NEW));
  assert.equal(selectPhase(actor.getSnapshot()), 'Ready');
});

test('supervised: every replica is updated, then the primary waits with a condition for a switchover', async () => {
  const { actor, log } = await rollingCluster({ primaryUpdateStrategy: 'supervised' });
  actor.send({ type: 'image.resolved', image: NEW, source: 'spec.imageName' });
  await settle();
  await report(actor, 'demo-2', withFacts(replicaUp(), NEW));
  await report(actor, 'demo-3', withFacts(replicaUp(), NEW));
  assert.deepEqual(restarts(log.calls), ['restart demo-2', 'restart demo-3']);
  const waiting = actor.getSnapshot();
  assert.ok(waiting.matches({ rollingUpdate: 'awaitingSwitchover' }));
  const c = selectStatus(waiting).conditions.find((x) => x.type === 'PrimaryUpdatePending');
  assert.equal(c?.status, 'True');
  assert.match(c?.message ?? '', /pgop local switchover demo/);
  actor.send({ type: 'switchover.requested', id: 'user-1', to: null, at: '2026-01-01T00:00:00Z' });
  await settle();
  assert.ok(actor.getSnapshot().matches('switchingOver'));
  actor.stop();
});

test('a platform that resolves no image never rolls: pending_restart only shows in status', async () => {
  const { actor, log } = await readyCluster(2);
  await report(actor, 'demo-2', withFacts(replicaUp(), OLD, true));
  assert.deepEqual(restarts(log.calls), []);
  assert.equal(selectPhase(actor.getSnapshot()), 'Ready');
  assert.deepEqual(selectStatus(actor.getSnapshot()).pendingRestart, ['demo-2']);
});

test('a failed restart stalls the rollout with the reason; the instance coming back updated ends it', async () => {
  const { machine, log } = fakeCluster();
  log.failCreate.add('restart demo-2');
  const actor = createActor(machine, { input: { namespace: 'default', name: 'demo', uid: 'u', spec: spec(2), generation: 1 } }).start();
  await settle();
  await report(actor, 'demo-1', primaryUp());
  await report(actor, 'demo-2', replicaUp());
  await settle();
  actor.send({ type: 'image.resolved', image: NEW, source: 'spec.imageName' });
  await report(actor, 'demo-1', withFacts(primaryUp(), OLD));
  await report(actor, 'demo-2', withFacts(replicaUp(), OLD));
  await settle();
  assert.ok(actor.getSnapshot().matches({ rollingUpdate: 'stalled' }));
  assert.match(selectStatus(actor.getSnapshot()).phaseReason, /stalled: cannot restart demo-2/);
  await report(actor, 'demo-2', withFacts(replicaUp(), NEW));
  await report(actor, 'demo-1', withFacts(primaryUp(), NEW));
  assert.equal(selectPhase(actor.getSnapshot()), 'Ready');
});

test('a rollout interrupted by an operator restart resumes from the persisted snapshot and the reports', async () => {
  const { actor, log } = await rollingCluster();
  actor.send({ type: 'image.resolved', image: NEW, source: 'spec.imageName' });
  await settle();
  assert.deepEqual(restarts(log.calls), ['restart demo-2']);
  const persisted = actor.getPersistedSnapshot();
  actor.stop();
  const again = fakeCluster();
  const restored = createActor(again.machine, { snapshot: JSON.parse(JSON.stringify(persisted)) as never, input: undefined as never }).start();
  await settle();
  await report(restored, 'demo-2', withFacts(replicaUp(), NEW));
  assert.deepEqual(restarts(again.log.calls), ['restart demo-3'], 'demo-2 is not restarted again once it reports the new image');
  restored.stop();
});

test('a primary still needing a restart after the rollout\'s own switchover stalls the rollout instead of switching back', async () => {
  const { actor } = await rollingCluster();
  actor.send({ type: 'image.resolved', image: NEW, source: 'spec.imageName' });
  await settle();
  await report(actor, 'demo-2', withFacts(replicaUp(), NEW));
  await report(actor, 'demo-3', withFacts(replicaUp(), NEW));
  assert.ok(actor.getSnapshot().matches('switchingOver'));
  // The plan finishes: demo-2 leads, but reports a pending restart (demo-1 rejoined updated).
  actor.send({ type: 'failover.promoted', instance: 'demo-2', timeline: 2 });
  const switchover = actor.getSnapshot().children.switchover as { send(e: unknown): void } | undefined;
  assert.ok(switchover);
  const persisted = actor.getPersistedSnapshot() as unknown as { value: unknown; children: Record<string, unknown> };
  // Jump past the plan as the operator would after it: restore into settling with the new primary.
  const { machine } = fakeCluster();
  const next = createActor(machine, { snapshot: { ...persisted, value: 'settling', children: Object.fromEntries(Object.entries(persisted.children).filter(([k]) => k !== 'switchover')) } as never, input: undefined as never }).start();
  await settle();
  await report(next, 'demo-1', withFacts(replicaUp(), NEW));
  await report(next, 'demo-2', withFacts(primaryUp(), NEW, true));
  await report(next, 'demo-3', withFacts(replicaUp(), NEW));
  assert.ok(next.getSnapshot().matches({ rollingUpdate: 'stalled' }), JSON.stringify(next.getSnapshot().value));
  assert.match(selectStatus(next.getSnapshot()).phaseReason, /already ran, and primary demo-2 still needs a restart/);
  actor.stop();
  next.stop();
});

const gone = (instance: string) => ({ type: 'instance.lost' as const, instance, reason: 'instance gone (agent and postgres not running)', gone: true });

test('a fenced replica is skipped: the others roll, RolloutBlocked names it and the fix; unfenced, it rolls too', async () => {
  const { actor, log } = await rollingCluster();
  try {
    actor.send({ type: 'fencing.requested', annotation: '["demo-3"]' });
    actor.send(gone('demo-3'));
    await settle();
    assert.equal(selectPhase(actor.getSnapshot()), 'Degraded');
    actor.send({ type: 'spec.changed', spec: spec(3, { postgresql: { parameters: { max_connections: '120' } } }), generation: 2 });
    await settle();
    await report(actor, 'demo-1', withFacts(primaryUp(), OLD, true, 2));
    await report(actor, 'demo-2', withFacts(replicaUp(), OLD, true, 2));
    assert.deepEqual(restarts(log.calls), ['restart demo-2'], 'the unfenced replica rolls; the fenced one is never restarted');
    const blocked = selectStatus(actor.getSnapshot()).conditions.find((c) => c.type === 'RolloutBlocked');
    assert.equal(blocked?.status, 'True');
    assert.equal(blocked?.reason, 'InstanceFenced');
    assert.match(blocked?.message ?? '', /instance demo-3 is fenced \(postgres\.keiailab\.io\/fenced-instances\).*the other instances roll.*pgop local unfence demo demo-3/);
    await report(actor, 'demo-2', withFacts(replicaUp(), OLD, false, 2));
    // Every unfenced replica is updated: the primary goes last, through a switchover to demo-2.
    assert.ok(actor.getSnapshot().matches('switchingOver'), JSON.stringify(actor.getSnapshot().value));
    assert.equal(actor.getSnapshot().context.pendingSwitchoverTarget, 'demo-2');
    assert.deepEqual(restarts(log.calls), ['restart demo-2']);
  } finally { actor.stop(); }
});

test('fenced, then unfenced behind: the replica that was fenced is rolled when it reports back pending', async () => {
  const { actor, log } = await rollingCluster({}, 2);
  try {
    actor.send({ type: 'fencing.requested', annotation: '["demo-2"]' });
    actor.send(gone('demo-2'));
    actor.send({ type: 'spec.changed', spec: spec(2, { postgresql: { parameters: { max_connections: '120' } } }), generation: 2 });
    await settle();
    await report(actor, 'demo-1', withFacts(primaryUp(), OLD, true, 2));
    // The lone unfenced instance is the primary; its only replica is fenced: it waits, never restarted alone.
    assert.deepEqual(restarts(log.calls), []);
    assert.match(selectStatus(actor.getSnapshot()).conditions.find((c) => c.type === 'RolloutBlocked')?.message ?? '', /demo-2 is fenced/);
    actor.send({ type: 'fencing.requested', annotation: null });
    await report(actor, 'demo-2', withFacts(replicaUp(), OLD, true, 2));
    assert.deepEqual(restarts(log.calls), ['restart demo-2'], 'unfenced, it rolls first');
    assert.equal(selectStatus(actor.getSnapshot()).conditions.find((c) => c.type === 'RolloutBlocked'), undefined, 'nothing fenced: no condition');
  } finally { actor.stop(); }
});

// Real agents report no configuration generation (null) until their first reload (instance/supervisor.ts), and null
// counts as fresh: a replica fenced before the cluster's first reconfiguration kept null as its last word, looked up
// to date, and on real processes RolloutBlocked never appeared (issue #11). Not running when the configuration was
// applied, it cannot have loaded it.
test('a replica fenced before any reconfiguration (its agent never reported a generation) is named by RolloutBlocked', async () => {
  const { actor, log } = await readyWithPlans(3);
  try {
    actor.send({ type: 'image.resolved', image: OLD, source: 'installed PostgreSQL 15' });
    const untracked = (o: InstanceObservation, pendingRestart = false): InstanceObservation => ({ ...o, image: OLD, pendingRestart, configGeneration: null });
    await report(actor, 'demo-1', untracked(primaryUp()));
    for (const n of ['demo-2', 'demo-3']) await report(actor, n, untracked(replicaUp()));
    log.calls.length = 0;
    actor.send({ type: 'fencing.requested', annotation: '["demo-3"]' });
    actor.send(gone('demo-3'));
    await settle();
    actor.send({ type: 'spec.changed', spec: spec(3, { postgresql: { parameters: { max_connections: '120' } } }), generation: 2 });
    await settle();
    // The replica reports first: with untracked generations the order matters (a primary reporting first would
    // make the not-yet-reloaded replica look updated, which is why the local platform labels pods from creation).
    await report(actor, 'demo-2', untracked(replicaUp(), true));
    await report(actor, 'demo-1', untracked(primaryUp(), true));
    assert.deepEqual(restarts(log.calls), ['restart demo-2'], 'the unfenced replica rolls; the fenced one is never restarted');
    const blocked = selectStatus(actor.getSnapshot()).conditions.find((c) => c.type === 'RolloutBlocked');
    assert.equal(blocked?.status, 'True', 'the fenced replica missed the new configuration');
    assert.match(blocked?.message ?? '', /instance demo-3 is fenced .*pgop local unfence demo demo-3/);
    // Unfenced, it starts on what the platform gave it meanwhile and says so: the condition goes.
    actor.send({ type: 'fencing.requested', annotation: null });
    await report(actor, 'demo-3', withFacts(replicaUp(), OLD, false, 2));
    assert.equal(selectStatus(actor.getSnapshot()).conditions.find((c) => c.type === 'RolloutBlocked'), undefined);
  } finally { actor.stop(); }
});
