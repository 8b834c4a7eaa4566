import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createActor, fromCallback, type AnyEventObject } from 'xstate';
import { backupMachine } from './backup.machine.js';
import { selectBackupStatus } from './backup.selectors.js';
import type { BackupInput, BackupResult } from './backup.types.js';

const input: BackupInput = { namespace: 'default', name: 'b1', uid: 'u1', generation: 1, cluster: 'demo', backupType: 'full', target: 'prefer-standby', kind: 'backup', createdAt: '2026-01-01T00:00:00.000Z' };
const result: BackupResult = {
  label: '20260101-000000F', type: 'full', instance: 'demo-2', stanza: 'default_demo', repository: 'posix:/r',
  startedAt: '2026-01-01T00:00:00.000Z', stoppedAt: '2026-01-01T00:00:12.000Z', durationSeconds: 12, startLsn: '0/3000028', stopLsn: '0/3000138',
  walStart: '000000010000000000000003', walEnd: '000000010000000000000003', timeline: 1, sizeBytes: 30_000_000, repositorySizeBytes: 4_000_000, expired: [],
};

/** A fake queued step: the test drives it through the events the real one sends. */
function harness(overrides: Partial<BackupInput> = {}) {
  let send: ((e: AnyEventObject) => void) | undefined;
  let started = 0;
  const machine = backupMachine.provide({ actors: { runBackup: fromCallback(({ sendBack }) => { started++; send = sendBack; }) } });
  const actor = createActor(machine, { input: { ...input, ...overrides } }).start();
  return { actor, step: (e: AnyEventObject) => send?.(e), started: () => started };
}

test('pending → running on progress → succeeded with the backup recorded in status', () => {
  const h = harness();
  assert.equal(selectBackupStatus(h.actor.getSnapshot()).phase, 'Pending');
  h.step({ type: 'step.progress', progress: { percent: 40, detail: 'pgbackrest full backup from demo-2', bytesDone: 4, bytesTotal: 10, startedAt: '2026-01-01T00:00:00.000Z' } });
  const running = selectBackupStatus(h.actor.getSnapshot());
  assert.equal(running.phase, 'Running');
  assert.equal(running.percent, 40);
  assert.equal(running.bytesDone, 4);
  h.step({ type: 'step.succeeded', result });
  const done = selectBackupStatus(h.actor.getSnapshot());
  assert.equal(done.phase, 'Succeeded');
  assert.equal(done.backupId, result.label);
  assert.equal(done.size, '28.6 MiB');
  assert.equal(done.duration, '12s');
  assert.deepEqual(done.conditions.map((c) => [c.type, c.status, c.reason]), [['Completed', 'True', 'BackupSucceeded'], ['Fingerprinted', 'False', 'NotTaken']]);
  assert.equal(h.started(), 1);
});

test('a failed step ends in failed with the reason; a result of the wrong shape is a failure too', () => {
  const h = harness();
  h.step({ type: 'step.failed', error: 'HTTP 403 InvalidAccessKeyId', permanent: true });
  const s = selectBackupStatus(h.actor.getSnapshot());
  assert.equal(s.phase, 'Failed');
  assert.equal(s.message, 'HTTP 403 InvalidAccessKeyId');
  const g = harness();
  g.step({ type: 'step.succeeded', result: { nothing: true } });
  assert.equal(selectBackupStatus(g.actor.getSnapshot()).message, 'the backup step returned no backup');
});

test('a restore BackupJob is refused without queuing anything', () => {
  const h = harness({ kind: 'restore' });
  assert.equal(h.started(), 0);
  assert.match(selectBackupStatus(h.actor.getSnapshot()).message ?? '', /spec\.bootstrap\.recovery/);
});

test('restored mid-backup, the machine re-attaches to its step (the invoke runs again) and finishes', () => {
  const h = harness();
  h.step({ type: 'step.progress', progress: { percent: 10, detail: 'x' } });
  const persisted = h.actor.getPersistedSnapshot();
  h.actor.stop();
  let started = 0;
  let send: ((e: AnyEventObject) => void) | undefined;
  const machine = backupMachine.provide({ actors: { runBackup: fromCallback(({ sendBack }) => { started++; send = sendBack; }) } });
  const again = createActor(machine, { input, snapshot: persisted }).start();
  assert.equal(started, 1);
  assert.equal(selectBackupStatus(again.getSnapshot()).phase, 'Running');
  send?.({ type: 'step.succeeded', result });
  assert.equal(selectBackupStatus(again.getSnapshot()).phase, 'Succeeded');
});

test('deletion reaches the final state from any phase', () => {
  const h = harness();
  h.step({ type: 'step.succeeded', result });
  h.actor.send({ type: 'backupjob.deleted' });
  assert.equal(h.actor.getSnapshot().status, 'done');
});

const fingerprint = { lsn: '0/3000200', restorePoint: 'pgop-fp-20260101-000000F-x', takenAt: '2026-01-01T00:00:13.000Z', tables: [{ database: 'app', schema: 'public', table: 't', rows: 3 }], tablesTotal: 1 };

test('saved: Succeeded as soon as the backup is in the repository; the fingerprint is added when the step ends', () => {
  const h = harness();
  h.step({ type: 'step.progress', progress: { percent: 60, detail: 'copying' } });
  h.step({ type: 'step.progress', progress: { percent: 100, detail: 'backup saved', saved: result } });
  const saved = selectBackupStatus(h.actor.getSnapshot());
  assert.equal(saved.phase, 'Succeeded');
  assert.equal(saved.backupId, result.label);
  assert.equal(saved.fingerprint, undefined);
  assert.match(saved.message ?? '', /recording the table fingerprint/);
  assert.deepEqual(saved.conditions.map((c) => [c.type, c.status]), [['Completed', 'True'], ['Fingerprinted', 'Unknown']]);
  h.step({ type: 'step.succeeded', result: { ...result, fingerprint } });
  const done = selectBackupStatus(h.actor.getSnapshot());
  assert.ok(h.actor.getSnapshot().matches('succeeded'));
  assert.deepEqual(done.fingerprint, fingerprint);
  assert.equal(done.message, undefined);
  assert.deepEqual(done.conditions.map((c) => [c.type, c.status, c.reason]), [['Completed', 'True', 'BackupSucceeded'], ['Fingerprinted', 'True', 'Recorded']]);
});

test('a fingerprint that cannot be taken never fails a saved backup: Succeeded, with the reason', () => {
  const h = harness();
  h.step({ type: 'step.progress', progress: { percent: 100, detail: 'backup saved', saved: result } });
  h.step({ type: 'step.succeeded', result: { ...result, fingerprintError: 'canceling statement due to lock timeout' } });
  const s = selectBackupStatus(h.actor.getSnapshot());
  assert.equal(s.phase, 'Succeeded');
  assert.equal(s.fingerprintError, 'canceling statement due to lock timeout');
  assert.equal(s.message, 'canceling statement due to lock timeout');
  assert.deepEqual(s.conditions.at(-1), { type: 'Fingerprinted', status: 'False', reason: 'NotRecorded', message: 'canceling statement due to lock timeout' });
  // The step itself failing after the save (the worker died for good) keeps the backup too.
  const g = harness();
  g.step({ type: 'step.progress', progress: { percent: 100, detail: 'backup saved', saved: result } });
  g.step({ type: 'step.failed', error: 'job stalled more than allowable limit', permanent: false });
  const t = selectBackupStatus(g.actor.getSnapshot());
  assert.equal(t.phase, 'Succeeded');
  assert.equal(t.backupId, result.label);
  assert.match(t.fingerprintError as string, /not recorded: job stalled/);
  // Before the save, the same failure fails the job.
  const f = harness();
  f.step({ type: 'step.failed', error: 'job stalled more than allowable limit', permanent: false });
  assert.equal(selectBackupStatus(f.actor.getSnapshot()).phase, 'Failed');
});
