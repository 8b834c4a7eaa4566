import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createActor, fromPromise, fromCallback, waitFor } from 'xstate';
import { poolerMachine } from './pooler.machine.js';
import type { PoolerApplied, PoolerRef } from './pooler.types.js';
import type { PoolerSpec } from '../../crds/pooler.js';

const spec = (paused = false): PoolerSpec => ({ cluster: { name: 'demo' }, type: 'rw', instances: 1, paused, pgbouncer: { poolMode: 'session', defaultPoolSize: 20, maxClientConnections: 100 } });
const applied = (target: string, paused: boolean): PoolerApplied => ({ target, paused, instances: 1, readyInstances: 1, endpoint: '127.0.0.1:1' });

test('a change arriving during an apply is applied before the machine settles', async () => {
  const seen: boolean[] = [];
  let release: () => void = () => undefined;
  const machine = poolerMachine.provide({
    actors: {
      applyPooler: fromPromise(async ({ input }) => {
        seen.push(input.spec.paused);
        if (seen.length === 1) await new Promise<void>((r) => { release = r; });
        return applied('demo-1', input.spec.paused);
      }),
      removePooler: fromPromise<void, PoolerRef>(async () => undefined),
      watchPooler: fromCallback(() => () => undefined),
    },
  });
  const actor = createActor(machine, { input: { namespace: 'default', name: 'p', spec: spec(), generation: 1 } }).start();
  await waitFor(actor, () => seen.length === 1);
  actor.send({ type: 'spec.changed', spec: spec(true), generation: 2 });
  release();
  const s = await waitFor(actor, (x) => x.matches('ready'));
  assert.deepEqual(seen, [false, true]);
  assert.equal(s.context.appliedGeneration, 2);
  assert.equal(s.context.applied?.paused, true);
});

test('the route watch sends pooler.sync and a failed apply is retried; deletion ends the actor', async () => {
  let applies = 0;
  const machine = poolerMachine.provide({
    actors: {
      applyPooler: fromPromise(async () => {
        applies++;
        if (applies === 1) throw new Error('primary unreachable');
        return applied(applies === 2 ? 'demo-1' : 'demo-2', false);
      }),
      removePooler: fromPromise<void, PoolerRef>(async () => undefined),
      watchPooler: fromCallback(({ sendBack, input }) => {
        if ((input as { applied: PoolerApplied | null }).applied?.target === 'demo-1') sendBack({ type: 'pooler.sync' });
        return () => undefined;
      }),
    },
  });
  const actor = createActor(machine, { input: { namespace: 'default', name: 'p', spec: spec(), generation: 1 } }).start();
  const failed = await waitFor(actor, (x) => x.matches('retrying'));
  assert.equal(failed.context.error, 'primary unreachable');
  const s = await waitFor(actor, (x) => x.matches('ready') && x.context.applied?.target === 'demo-2', { timeout: 10_000 });
  assert.equal(s.context.error, null);
  actor.send({ type: 'pooler.deleted' });
  await waitFor(actor, (x) => x.status === 'done');
});
