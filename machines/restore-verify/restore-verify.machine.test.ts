import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createActor, fromCallback, type AnyEventObject } from 'xstate';
import { restoreVerifyMachine } from './restore-verify.machine.js';
import { selectRestoreVerification, lastRestoreVerified } from './restore-verify.selectors.js';
import type { VerifyInput, VerifyRequest, VerifyResult } from './restore-verify.types.js';

const input: VerifyInput = { namespace: 'default', name: 'demo', uid: 'u1', schedule: '0 3 * * *', keep: 2 };
const good = (startedAt: string, finishedAt: string): VerifyResult => ({ verified: true, reason: 'RestoreVerified', message: '3 tables match', backup: '20260101-000000F', startedAt, finishedAt, tablesCompared: 3 });

/** Fake timer and step: the test is the clock and the worker. */
function harness(snapshot?: unknown) {
  const h = {
    tick: undefined as ((e: AnyEventObject) => void) | undefined,
    step: undefined as ((e: AnyEventObject) => void) | undefined,
    armedAt: [] as (string | null)[],
    requests: [] as VerifyRequest[],
  };
  const machine = restoreVerifyMachine.provide({
    actors: {
      waitForNextRun: fromCallback<AnyEventObject, { at: string | null }>(({ sendBack, input: i }) => { h.armedAt.push(i.at); h.tick = sendBack; }),
      runRestoreVerify: fromCallback<AnyEventObject, VerifyRequest>(({ sendBack, input: i }) => { h.requests.push(i); h.step = sendBack; }),
    },
  });
  const actor = createActor(machine, { input, ...(snapshot ? { snapshot: snapshot as never } : {}) }).start();
  return { ...h, actor, get: () => h };
}

test('the first tick arms the schedule; nothing runs before it fires; at the time one rehearsal runs', () => {
  const h = harness();
  h.get().tick?.({ type: 'clock.ticked', now: '2026-01-01T00:00:00.000Z' });
  assert.equal(h.actor.getSnapshot().context.nextRunAt, '2026-01-01T03:00:00.000Z');
  assert.deepEqual(h.get().armedAt, [null, '2026-01-01T03:00:00.000Z']);
  h.get().tick?.({ type: 'clock.ticked', now: '2026-01-01T02:59:59.000Z' });
  assert.equal(h.get().requests.length, 0);
  h.get().tick?.({ type: 'clock.ticked', now: '2026-01-01T03:00:00.500Z' });
  assert.deepEqual(h.get().requests, [{ namespace: 'default', cluster: 'demo', uid: 'u1', run: 1, startedAt: '2026-01-01T03:00:00.500Z' }]);
  h.get().step?.({ type: 'step.progress', progress: { percent: 40, detail: 'restoring' } });
  assert.equal(selectRestoreVerification(h.actor.getSnapshot()).progress, 'restoring 40%');
  h.get().step?.({ type: 'step.succeeded', result: good('2026-01-01T03:00:00.500Z', '2026-01-01T03:01:10.000Z') });
  const s = selectRestoreVerification(h.actor.getSnapshot());
  assert.equal(s.phase, 'Waiting');
  assert.equal(s.nextRunAt, '2026-01-02T03:00:00.000Z');
  assert.equal(s.last?.verified, true);
  assert.deepEqual([lastRestoreVerified(s.last).status, lastRestoreVerified(s.last).reason], ['True', 'RestoreVerified']);
});

test('a failed verification and a step that could not run are both LastRestoreVerified=False with the reason', () => {
  const h = harness();
  h.get().tick?.({ type: 'clock.ticked', now: '2026-01-01T00:00:00.000Z' });
  h.get().tick?.({ type: 'clock.ticked', now: '2026-01-01T03:00:00.000Z' });
  h.get().step?.({ type: 'step.succeeded', result: { verified: false, reason: 'RestoreFailed', message: 'pgbackrest restore failed: missing file', backup: '20260101-000000F', startedAt: '2026-01-01T03:00:00.000Z', finishedAt: '2026-01-01T03:00:05.000Z' } });
  let c = lastRestoreVerified(selectRestoreVerification(h.actor.getSnapshot()).last);
  assert.deepEqual([c.status, c.reason], ['False', 'RestoreFailed']);
  assert.match(c.message, /missing file/);
  h.get().tick?.({ type: 'clock.ticked', now: '2026-01-02T03:00:00.000Z' });
  h.get().step?.({ type: 'step.failed', error: 'PostgresCluster default/demo not found', permanent: true });
  c = lastRestoreVerified(selectRestoreVerification(h.actor.getSnapshot()).last);
  assert.deepEqual([c.status, c.reason], ['False', 'RehearsalFailed']);
  h.get().tick?.({ type: 'clock.ticked', now: '2026-01-03T03:00:00.000Z' });
  h.get().step?.({ type: 'step.succeeded', result: { nonsense: true } });
  const s = selectRestoreVerification(h.actor.getSnapshot());
  assert.equal(s.last?.message, 'the rehearsal step returned no result');
  assert.equal(s.history.length, 2, 'keep bounds the history');
});

test('after an outage spanning several scheduled times, exactly one catch-up run, then the schedule again', () => {
  const h = harness();
  h.get().tick?.({ type: 'clock.ticked', now: '2026-01-01T00:00:00.000Z' });
  const persisted = h.actor.getPersistedSnapshot();
  h.actor.stop();
  const again = harness(persisted);
  assert.deepEqual(again.get().armedAt, ['2026-01-01T03:00:00.000Z'], 'the restored timer waits for the stored time');
  again.get().tick?.({ type: 'clock.ticked', now: '2026-01-05T12:00:00.000Z' });
  again.get().tick?.({ type: 'clock.ticked', now: '2026-01-05T12:00:01.000Z' });
  assert.equal(again.get().requests.length, 1);
  again.get().step?.({ type: 'step.succeeded', result: good('2026-01-05T12:00:00.000Z', '2026-01-05T12:02:00.000Z') });
  again.get().tick?.({ type: 'clock.ticked', now: '2026-01-05T12:02:01.000Z' });
  assert.equal(again.get().requests.length, 1);
  assert.equal(again.actor.getSnapshot().context.nextRunAt, '2026-01-06T03:00:00.000Z');
});

test('restored mid-rehearsal, the machine re-attaches to the same run; a schedule change re-arms', () => {
  const h = harness();
  h.get().tick?.({ type: 'clock.ticked', now: '2026-01-01T00:00:00.000Z' });
  h.get().tick?.({ type: 'clock.ticked', now: '2026-01-01T03:00:00.000Z' });
  const persisted = h.actor.getPersistedSnapshot();
  h.actor.stop();
  const again = harness(persisted);
  assert.deepEqual(again.get().requests.map((r) => r.run), [1]);
  again.get().step?.({ type: 'step.succeeded', result: good('2026-01-01T03:00:00.000Z', '2026-01-01T03:01:00.000Z') });
  again.actor.send({ type: 'spec.changed', schedule: '0 */30 * * * *', keep: 2 });
  assert.equal(again.actor.getSnapshot().context.nextRunAt, null);
  again.get().tick?.({ type: 'clock.ticked', now: '2026-01-01T03:05:00.000Z' });
  assert.equal(again.actor.getSnapshot().context.nextRunAt, '2026-01-01T03:30:00.000Z');
});
