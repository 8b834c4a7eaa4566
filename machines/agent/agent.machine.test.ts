import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createActor, fromPromise, fromCallback, SimulatedClock, type AnyEventObject } from 'xstate';
import { agentMachine } from './agent.machine.js';
import { settle } from '../../tests/fixtures/cluster-fakes.js';

function agent(initialized: boolean, bootstrapFails = false) {
  const calls: string[] = [];
  let emit: (e: AnyEventObject) => void = () => undefined;
  const clock = new SimulatedClock();
  const machine = agentMachine.provide({
    actors: {
      inspectDataDir: fromPromise(async () => ({ initialized })),
      bootstrapDataDir: fromPromise(async () => { calls.push('bootstrap'); if (bootstrapFails) throw new Error('initdb: bad locale'); }),
      runPostgres: fromCallback(({ sendBack }) => { calls.push('start'); emit = sendBack; return () => calls.push('cleanup'); }),
      prepareInstance: fromPromise(async () => { calls.push('prepare'); }),
      applyConfig: fromPromise(async () => { calls.push('reload'); }),
      stopPostgres: fromPromise(async () => { calls.push('stop'); }),
    },
  });
  const actor = createActor(machine, { clock, input: { instance: 'demo-1', bootstrap: 'initdb', maxBackoffMs: 8000 } }).start();
  return { actor, calls, clock, emit: (e: AnyEventObject) => emit(e) };
}

test('an empty data directory is bootstrapped before postgres starts; an existing one is not', async () => {
  const fresh = agent(false);
  await settle(); await settle();
  assert.deepEqual(fresh.calls, ['bootstrap', 'start']);
  const existing = agent(true);
  await settle();
  assert.deepEqual(existing.calls, ['start']);
});

test('postgres crashes are restarted with doubling backoff, reset once it stays up', async () => {
  const a = agent(true);
  await settle();
  a.emit({ type: 'postgres.ready' });
  await settle();
  assert.ok(a.actor.getSnapshot().matches({ supervising: 'running' }));
  a.emit({ type: 'postgres.exited', code: null, signal: 'SIGKILL' });
  assert.ok(a.actor.getSnapshot().matches('crashed'));
  assert.equal(a.actor.getSnapshot().context.lastExit, 'killed by SIGKILL');
  a.clock.increment(999);
  assert.ok(a.actor.getSnapshot().matches('crashed'));
  a.clock.increment(1);
  assert.ok(a.actor.getSnapshot().matches({ supervising: 'starting' }));
  a.emit({ type: 'postgres.exited', code: 1, signal: null });
  a.clock.increment(1999);
  assert.ok(a.actor.getSnapshot().matches('crashed'), 'second crash waits 2 s');
  a.clock.increment(1);
  a.emit({ type: 'postgres.stable' });
  assert.equal(a.actor.getSnapshot().context.crashStreak, 0);
  assert.equal(a.actor.getSnapshot().context.restarts, 2);
});

test('a failed bootstrap is terminal and keeps the reason', async () => {
  const a = agent(false, true);
  await settle(); await settle();
  assert.ok(a.actor.getSnapshot().matches('bootstrapFailed'));
  assert.equal(a.actor.getSnapshot().context.bootstrapError, 'initdb: bad locale');
});

test('stop shuts postgres down and finishes the machine', async () => {
  const a = agent(true);
  await settle();
  a.emit({ type: 'postgres.ready' });
  await settle();
  a.actor.send({ type: 'agent.stop' });
  await settle();
  assert.equal(a.actor.getSnapshot().status, 'done');
  assert.deepEqual(a.calls, ['start', 'prepare', 'cleanup', 'stop']);
});
