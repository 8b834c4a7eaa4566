import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createActor, fromPromise, fromCallback, SimulatedClock, type AnyEventObject } from 'xstate';
import { agentMachine } from './agent.machine.js';
import type { ClaimResult, DataDirState } from './agent.types.js';
import { settle } from '../../tests/fixtures/cluster-fakes.js';

interface Options { data?: DataDirState; claim?: ClaimResult[]; bootstrapFails?: boolean; promoteFails?: boolean }

function agent(o: Options = {}) {
  const calls: string[] = [];
  const emitters: Record<string, (e: AnyEventObject) => void> = {};
  const received: AnyEventObject[] = [];
  const claims = [...(o.claim ?? [{ kind: 'granted' }])];
  const clock = new SimulatedClock();
  let data = o.data ?? { initialized: true, standby: false };
  const machine = agentMachine.provide({
    actors: {
      inspectDataDir: fromPromise(async () => data),
      bootstrapDataDir: fromPromise(async () => {
        calls.push('bootstrap');
        if (o.bootstrapFails) throw new Error('initdb: bad locale');
        data = { initialized: true, standby: false };
      }),
      claimLease: fromPromise(async () => { calls.push('claim'); return claims.shift() ?? { kind: 'granted' }; }),
      rejoinPrimary: fromPromise(async ({ input }) => { calls.push(`rejoin ${input.upstream.name}`); }),
      runPostgres: fromCallback(({ sendBack }) => { calls.push('start'); emitters.postgres = sendBack; return () => calls.push('cleanup'); }),
      primaryDuties: fromCallback(({ input, sendBack, receive }) => {
        calls.push(`duties ${input.role}`);
        emitters.duties = sendBack;
        receive((e) => received.push(e));
        return () => undefined;
      }),
      awaitLease: fromCallback(({ sendBack }) => { calls.push('await lease'); emitters.await = sendBack; return () => undefined; }),
      prepareInstance: fromPromise(async () => { calls.push('prepare'); }),
      applyConfig: fromPromise(async () => { calls.push('reload'); }),
      promoteReplica: fromPromise(async () => { calls.push('promote'); if (o.promoteFails) throw new Error('lease not held'); }),
      demotePrimary: fromPromise(async ({ input }) => { calls.push(`demote to ${input.handoverTo}`); return { checkpointLsn: '0/5000028' }; }),
      fencePostgres: fromPromise(async () => { calls.push('fence'); }),
      stopPostgres: fromPromise(async () => { calls.push('stop'); }),
    },
  });
  const actor = createActor(machine, { clock, input: { instance: 'demo-1', bootstrap: 'initdb', maxBackoffMs: 8000, leaseMs: 5000 } }).start();
  const emit = (from: string, e: AnyEventObject) => emitters[from]?.(e);
  const running = () => actor.getSnapshot().matches({ up: { postgres: { supervising: 'running' } } });
  return { actor, calls, clock, emit, received, running };
}

test('an empty data directory is bootstrapped, then primary data runs only after the lease is granted', async () => {
  const a = agent({ data: { initialized: false, standby: false } });
  await settle(); await settle(); await settle();
  assert.deepEqual(a.calls.slice(0, 4), ['bootstrap', 'claim', 'duties primary', 'start']);
  assert.equal(a.actor.getSnapshot().context.role, 'primary');
});

test('a standby data directory starts as a replica without claiming the lease', async () => {
  const a = agent({ data: { initialized: true, standby: true } });
  await settle();
  assert.deepEqual(a.calls, ['duties replica', 'start']);
});

test('primary data whose lease another instance holds rejoins that instance instead of leading', async () => {
  const a = agent({ claim: [{ kind: 'follow', primary: { name: 'demo-2', host: '127.0.0.1', port: 5433 } }] });
  await settle(); await settle(); await settle();
  assert.deepEqual(a.calls.slice(0, 4), ['claim', 'rejoin demo-2', 'duties replica', 'start']);
  assert.equal(a.actor.getSnapshot().context.upstream?.name, 'demo-2');
});

test('while an operator plan holds the lease the agent waits and asks again', async () => {
  const a = agent({ claim: [{ kind: 'wait', reason: 'failover in progress' }, { kind: 'granted' }] });
  await settle(); await settle();
  assert.ok(a.actor.getSnapshot().matches('waitingForLease'));
  a.clock.increment(1000);
  await settle(); await settle();
  assert.equal(a.actor.getSnapshot().context.role, 'primary');
});

test('postgres crashes are restarted with doubling backoff, reset once it stays up', async () => {
  const a = agent();
  await settle(); await settle();
  a.emit('postgres', { type: 'postgres.ready' });
  await settle();
  assert.ok(a.running());
  a.emit('postgres', { type: 'postgres.exited', code: null, signal: 'SIGKILL' });
  assert.ok(a.actor.getSnapshot().matches({ up: { postgres: 'crashed' } }));
  assert.equal(a.actor.getSnapshot().context.lastExit, 'killed by SIGKILL');
  a.clock.increment(999);
  assert.ok(a.actor.getSnapshot().matches({ up: { postgres: 'crashed' } }));
  a.clock.increment(1);
  assert.ok(a.actor.getSnapshot().matches({ up: { postgres: { supervising: 'starting' } } }));
  a.emit('postgres', { type: 'postgres.exited', code: 1, signal: null, reason: 'FATAL: could not create any TCP/IP sockets' });
  assert.equal(a.actor.getSnapshot().context.lastExit, 'exited with code 1: FATAL: could not create any TCP/IP sockets', 'what postgres said is kept');
  a.clock.increment(1999);
  assert.ok(a.actor.getSnapshot().matches({ up: { postgres: 'crashed' } }), 'second crash waits 2 s');
  a.clock.increment(1);
  a.emit('postgres', { type: 'postgres.ready' });
  a.emit('postgres', { type: 'postgres.stable' });
  assert.equal(a.actor.getSnapshot().context.crashStreak, 0);
  assert.equal(a.actor.getSnapshot().context.restarts, 2);
});

test('a primary whose postgres stays down for a whole lease fences itself; a quick restart does not', async () => {
  const a = agent();
  await settle(); await settle();
  a.emit('postgres', { type: 'postgres.ready' });
  await settle();
  a.emit('postgres', { type: 'postgres.exited', code: null, signal: 'SIGKILL' });
  a.clock.increment(1000);
  a.emit('postgres', { type: 'postgres.ready' });
  a.clock.increment(10_000);
  assert.ok(!a.actor.getSnapshot().matches('fencing') && !a.actor.getSnapshot().matches('fenced'));
  a.emit('postgres', { type: 'postgres.exited', code: null, signal: 'SIGKILL' });
  for (let i = 0; i < 5; i++) { a.clock.increment(1000); a.emit('postgres', { type: 'postgres.exited', code: 1, signal: null }); }
  await settle();
  assert.ok(a.actor.getSnapshot().matches('fenced'));
  assert.equal(a.actor.getSnapshot().context.fencedReason, 'postgres did not come back within the lease');
});

test('a primary that loses its lease fences, then rejoins whoever holds it now', async () => {
  const a = agent();
  await settle(); await settle();
  a.emit('postgres', { type: 'postgres.ready' });
  await settle();
  a.emit('duties', { type: 'lease.lost', reason: 'could not renew the primary lease for 3500 ms' });
  await settle();
  assert.ok(a.actor.getSnapshot().matches('fenced'));
  assert.ok(a.calls.includes('fence'));
  a.emit('await', { type: 'lease.follow', primary: { name: 'demo-2', host: '127.0.0.1', port: 5433 } });
  await settle(); await settle();
  assert.ok(a.calls.includes('rejoin demo-2'));
  assert.equal(a.actor.getSnapshot().context.role, 'replica');
});

test('promotion turns a replica into a primary and starts its lease duties; a refused one keeps it a replica', async () => {
  const a = agent({ data: { initialized: true, standby: true } });
  await settle();
  a.emit('postgres', { type: 'postgres.ready' });
  await settle();
  a.actor.send({ type: 'agent.promote' });
  await settle();
  assert.equal(a.actor.getSnapshot().context.role, 'primary');
  assert.deepEqual(a.received.map((e) => e.type), ['role.primary']);

  const b = agent({ data: { initialized: true, standby: true }, promoteFails: true });
  await settle();
  b.emit('postgres', { type: 'postgres.ready' });
  await settle();
  b.actor.send({ type: 'agent.promote' });
  await settle();
  assert.equal(b.actor.getSnapshot().context.role, 'replica');
  assert.equal(b.actor.getSnapshot().context.lastError, 'lease not held');
  assert.ok(b.running());
});

test('demotion hands the lease to the plan and reports the final checkpoint', async () => {
  const a = agent();
  await settle(); await settle();
  a.emit('postgres', { type: 'postgres.ready' });
  await settle();
  a.actor.send({ type: 'agent.demote', handoverTo: 'switchover:default/demo' });
  await settle(); await settle();
  assert.ok(a.actor.getSnapshot().matches('fenced'));
  assert.equal(a.actor.getSnapshot().context.demotedAt, '0/5000028');
  assert.ok(a.calls.includes('demote to switchover:default/demo'));
});

test('a failed bootstrap is terminal and keeps the reason', async () => {
  const a = agent({ data: { initialized: false, standby: false }, bootstrapFails: true });
  await settle(); await settle();
  assert.ok(a.actor.getSnapshot().matches('bootstrapFailed'));
  assert.equal(a.actor.getSnapshot().context.bootstrapError, 'initdb: bad locale');
});

test('stop shuts postgres down and finishes the machine', async () => {
  const a = agent();
  await settle(); await settle();
  a.emit('postgres', { type: 'postgres.ready' });
  await settle();
  a.actor.send({ type: 'agent.stop' });
  await settle();
  assert.equal(a.actor.getSnapshot().status, 'done');
  assert.ok(a.calls.includes('stop'));
});

test('held by the operator (Kubernetes fencing): postgres stops and stays stopped until released, then starts like a fresh agent', async () => {
  const a = agent({ data: { initialized: true, standby: true } });
  await settle();
  a.emit('postgres', { type: 'postgres.ready' });
  await settle();
  assert.ok(a.running());
  a.actor.send({ type: 'agent.hold', reason: 'fenced by the operator' });
  await settle();
  assert.ok(a.actor.getSnapshot().matches('held'));
  assert.equal(a.actor.getSnapshot().context.fencedReason, 'fenced by the operator');
  assert.deepEqual(a.calls.slice(-2), ['cleanup', 'stop']);
  // Nothing inside the agent starts postgres again while held: no lease watch, no restart.
  a.clock.increment(60_000);
  await settle();
  assert.ok(a.actor.getSnapshot().matches('held'));
  assert.equal(a.calls.filter((c) => c === 'start').length, 1);
  a.actor.send({ type: 'agent.release' });
  await settle();
  assert.equal(a.calls.filter((c) => c === 'start').length, 2, 'released: postgres starts again');
  assert.equal(a.actor.getSnapshot().context.fencedReason, null);
});
