import { test } from 'node:test';
import assert from 'node:assert/strict';
import { continuousArchiving } from './cluster.selectors.js';
import type { InstanceObservation } from '../shared/observation.js';

const obs = (archiver: InstanceObservation['archiver']): InstanceObservation => ({
  role: 'primary', ready: true, timeline: 1, currentLsn: '0/1', receiveLsn: null, replayLsn: null, bootstrapping: false, failed: null, archiver,
});

test('ContinuousArchiving: a failure newer than the last success is False with the segment; otherwise True', () => {
  const ok = continuousArchiving(obs({ failedCount: 1, lastFailedWal: 'A', lastFailedAt: '2026-01-01T00:00:01.000000Z', lastArchivedWal: 'B', lastArchivedAt: '2026-01-01T00:00:02.000000Z' }));
  assert.deepEqual([ok.status, ok.reason], ['True', 'Archiving']);
  const bad = continuousArchiving(obs({ failedCount: 3, lastFailedWal: '000000010000000000000007', lastFailedAt: '2026-01-01T00:00:03.000000Z', lastArchivedWal: 'B', lastArchivedAt: '2026-01-01T00:00:02.000000Z' }));
  assert.deepEqual([bad.status, bad.reason], ['False', 'ArchiveCommandFailing']);
  assert.match(bad.message, /000000010000000000000007/);
  const never = continuousArchiving(obs({ failedCount: 1, lastFailedWal: 'A', lastFailedAt: '2026-01-01T00:00:01.000000Z', lastArchivedWal: null, lastArchivedAt: null }));
  assert.equal(never.status, 'False');
  assert.equal(continuousArchiving(null).reason, 'Unknown');
});

test('ContinuousArchiving: archive_mode still off (a repository added, the restart pending) is False, whatever pg_stat_archiver says', () => {
  const off = continuousArchiving(obs({ failedCount: 0, lastFailedWal: null, lastFailedAt: null, lastArchivedWal: null, lastArchivedAt: null, archiveMode: 'off' }));
  assert.deepEqual([off.status, off.reason], ['False', 'ArchiveModeOff']);
  const on = continuousArchiving(obs({ failedCount: 0, lastFailedWal: null, lastFailedAt: null, lastArchivedWal: null, lastArchivedAt: null, archiveMode: 'on' }));
  assert.deepEqual([on.status, on.reason], ['True', 'Archiving']);
});

test('ContinuousArchiving: a repository added at run time and not proven yet is False with the reason; a failure still wins', () => {
  const pending = continuousArchiving(obs({ failedCount: 0, lastFailedWal: null, lastFailedAt: null, lastArchivedWal: 'B', lastArchivedAt: '2026-01-01T00:00:02.000000Z', archiveMode: 'on', repositoryPending: 'creating its pgBackRest stanza' }));
  assert.deepEqual([pending.status, pending.reason], ['False', 'RepositoryPending']);
  assert.match(pending.message, /creating its pgBackRest stanza/);
  const failing = continuousArchiving(obs({ failedCount: 2, lastFailedWal: 'C', lastFailedAt: '2026-01-01T00:00:03.000000Z', lastArchivedWal: 'B', lastArchivedAt: '2026-01-01T00:00:02.000000Z', archiveMode: 'on', repositoryPending: 'waiting' }));
  assert.equal(failing.reason, 'ArchiveCommandFailing');
});
