import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createActor, fromCallback, type AnyEventObject } from 'xstate';
import { backupJobBinding } from './backupjob.binding.js';
import { backupMachine } from '../../machines/backup/backup.machine.js';
import type { BackupResult } from '../../machines/backup/backup.types.js';

const result: BackupResult = {
  label: '20260101-000000F', type: 'full', instance: 'demo-1', stanza: 'default_demo', repository: 'posix:/r',
  startedAt: '2026-01-01T00:00:00.000Z', stoppedAt: '2026-01-01T00:00:12.000Z', durationSeconds: 12, startLsn: '0/3000028', stopLsn: '0/3000138',
  walStart: '000000010000000000000003', walEnd: '000000010000000000000003', timeline: 1, sizeBytes: 1, repositorySizeBytes: 1, expired: [],
};

test('Events: Succeeded when the backup is saved, and a Warning when its fingerprint could not be recorded', () => {
  let step: ((e: AnyEventObject) => void) | undefined;
  const actor = createActor(backupMachine.provide({ actors: { runBackup: fromCallback(({ sendBack }) => { step = sendBack; }) } }), {
    input: { namespace: 'default', name: 'b1', uid: 'u1', generation: 1, cluster: 'demo', backupType: 'full', target: 'primary', kind: 'backup', createdAt: '' },
  }).start();
  const notices = (send: AnyEventObject) => { const before = actor.getSnapshot(); step?.(send); return backupJobBinding.notices?.(before, actor.getSnapshot()) ?? []; };
  notices({ type: 'step.progress', progress: { percent: 10, detail: 'copying' } });
  assert.deepEqual(notices({ type: 'step.progress', progress: { percent: 100, detail: 'saved', saved: result } }).map((n) => [n.type, n.reason]), [['Normal', 'BackupSucceeded']]);
  const last = notices({ type: 'step.succeeded', result: { ...result, fingerprintError: 'canceling statement due to lock timeout' } });
  assert.deepEqual(last, [{ type: 'Warning', reason: 'FingerprintNotRecorded', message: 'backup 20260101-000000F: canceling statement due to lock timeout' }]);
});
