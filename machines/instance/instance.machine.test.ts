import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createActor, createMachine, fromPromise, fromCallback, sendTo, assign } from 'xstate';
import { instanceMachine } from './instance.machine.js';
import type { InstanceInput, InstancePhaseChanged } from './instance.types.js';
import { replicaUp, bootstrapping, bootstrapFailed, down } from '../../tests/fixtures/observations.js';
import { settle } from '../../tests/fixtures/cluster-fakes.js';

/** A parent that records the phases its instance child reports. */
function harness(input: InstanceInput, failing: string[] = []) {
  const calls: string[] = [];
  const child = instanceMachine.provide({
    actors: {
      ...Object.fromEntries(['reserveReplicationSlot', 'createInstance', 'removeInstance', 'releaseReplicationSlot'].map((n) => [n, fromPromise(async () => {
        calls.push(n);
        if (failing.includes(n)) throw new Error(`${n} refused`);
      })])),
      cloneInstance: fromCallback(({ sendBack }) => {
        calls.push('cloneInstance');
        sendBack({ type: 'step.progress', progress: { percent: 40, detail: 'pg_basebackup' } });
        queueMicrotask(() => sendBack(failing.includes('cloneInstance') ? { type: 'step.failed', error: 'slot missing', permanent: true } : { type: 'step.succeeded', result: null }));
      }),
    } as never,
  });
  const parent = createMachine({
    types: {} as { context: { phases: string[] }; events: InstancePhaseChanged | { type: 'forward'; event: never } },
    context: { phases: [] },
    invoke: { id: 'child', src: child, input },
    on: {
      'instance.phaseChanged': { actions: assign({ phases: ({ context, event }) => [...context.phases, event.phase] }) },
      forward: { actions: sendTo('child', ({ event }) => event.event) },
    },
  });
  const actor = createActor(parent).start();
  const send = (event: unknown) => actor.send({ type: 'forward', event: event as never });
  return { actor, calls, send, phases: () => actor.getSnapshot().context.phases };
}

const replica: InstanceInput = { cluster: { namespace: 'default', name: 'demo' }, owner: { uid: 'uid-demo', generation: 1 }, name: 'demo-2', serial: 2, bootstrap: 'clone', primary: 'demo-1' };

test('a replica reserves its slot before it is created, then runs once it streams', async () => {
  const h = harness(replica);
  await settle();
  assert.deepEqual(h.calls, ['reserveReplicationSlot', 'cloneInstance']);
  h.send({ type: 'instance.reported', instance: 'demo-2', observation: bootstrapping() });
  h.send({ type: 'instance.reported', instance: 'demo-2', observation: replicaUp() });
  assert.deepEqual(h.phases(), ['reservingSlot', 'cloning', 'cloning', 'bootstrapping', 'running']);
});

test('a failed clone is reported with its reason', async () => {
  const h = harness(replica);
  await settle();
  h.send({ type: 'instance.reported', instance: 'demo-2', observation: bootstrapFailed('pg_basebackup: slot does not exist') });
  assert.equal(h.phases().at(-1), 'failed');
});

test('a clone step that fails permanently fails the instance instead of hanging', async () => {
  const h = harness(replica, ['cloneInstance']);
  await settle();
  assert.equal(h.phases().at(-1), 'failed');
});

test('removal stops the pod before dropping the slot, and ends in removed', async () => {
  const h = harness(replica);
  await settle();
  h.send({ type: 'instance.reported', instance: 'demo-2', observation: replicaUp() });
  h.send({ type: 'instance.remove' });
  await settle(); await settle();
  assert.deepEqual(h.calls.slice(2), ['removeInstance', 'releaseReplicationSlot']);
  assert.equal(h.calls[1], 'cloneInstance');
  assert.deepEqual(h.phases().slice(-2), ['removing', 'removed']);
});

test('a lost instance whose agent answers again says what is still wrong, not why it was lost', async () => {
  const h = harness(replica);
  await settle();
  h.send({ type: 'instance.reported', instance: 'demo-2', observation: replicaUp() });
  const reason = () => (h.actor.getSnapshot().children.child?.getSnapshot() as { context: { lastError: string | null } }).context.lastError;
  h.send({ type: 'instance.lost', instance: 'demo-2', reason: 'instance gone (agent and postgres not running)', gone: true });
  assert.equal(h.phases().at(-1), 'lost');
  assert.equal(reason(), 'instance gone (agent and postgres not running)');
  // Back (a fence lifted), but its WAL receiver cannot stream: the gone reason would mislead.
  h.send({ type: 'instance.reported', instance: 'demo-2', observation: down('replica') });
  assert.equal(h.phases().at(-1), 'lost');
  assert.match(reason() ?? '', /agent answers; postgres runs as a replica but does not stream from its primary/);
  h.send({ type: 'instance.reported', instance: 'demo-2', observation: down('unknown') });
  assert.match(reason() ?? '', /postgres is not running or not answering/);
  h.send({ type: 'instance.reported', instance: 'demo-2', observation: replicaUp() });
  assert.equal(h.phases().at(-1), 'running');
  assert.equal(reason(), null);
});

test('a running replica that stops streaming is lost with that reason', async () => {
  const h = harness(replica);
  await settle();
  h.send({ type: 'instance.reported', instance: 'demo-2', observation: replicaUp() });
  h.send({ type: 'instance.reported', instance: 'demo-2', observation: down('replica') });
  assert.equal(h.phases().at(-1), 'lost');
  const child = h.actor.getSnapshot().children.child?.getSnapshot() as { context: { lastError: string | null } };
  assert.match(child.context.lastError ?? '', /does not stream from its primary/);
});
