import { test } from 'node:test';
import assert from 'node:assert/strict';
import { gateArchiver, type RepositoryChange } from './repository-change.js';
import type { ArchiverObservation } from '../machines/shared/observation.js';

const archived = (wal: string | null): ArchiverObservation => ({
  failedCount: 0, lastFailedWal: null, lastFailedAt: null, lastArchivedWal: wal, lastArchivedAt: wal ? '2026-01-01T00:00:02.000000Z' : null, archiveMode: 'on',
});
const change = (c: Partial<RepositoryChange>): RepositoryChange => ({ key: 'new', error: null, confirmFrom: null, ...c });

test('a success the old command may have made does not prove a repository added at run time', () => {
  const stale = archived('000000010000000000000004');
  const creating = gateArchiver(stale, change({}), 'new');
  assert.equal(creating.proven, false);
  assert.match(creating.archiver.repositoryPending ?? '', /creating its pgBackRest stanza/);
  const failed = gateArchiver(stale, change({ error: 'HTTP 403' }), 'new');
  assert.match(failed.archiver.repositoryPending ?? '', /stanza-create failed: HTTP 403/);
  const waiting = gateArchiver(stale, change({ confirmFrom: '000000010000000000000005' }), 'new');
  assert.equal(waiting.proven, false);
  assert.match(waiting.archiver.repositoryPending ?? '', /000000010000000000000005/);
});

test('archived up to the segment closed after stanza-create (or a later timeline) proves it', () => {
  const c = change({ confirmFrom: '000000010000000000000005' });
  for (const wal of ['000000010000000000000005', '000000010000000000000006', '000000020000000000000005.partial']) {
    const r = gateArchiver(archived(wal), c, 'new');
    assert.equal(r.proven, true, wal);
    assert.equal(r.archiver.repositoryPending, undefined);
  }
});

test('no change pending, or one for another repository, leaves the archiver as postgres shows it', () => {
  const a = archived('000000010000000000000004');
  assert.deepEqual(gateArchiver(a, null, 'new'), { archiver: a, proven: false });
  assert.deepEqual(gateArchiver(a, change({ key: 'older' }), 'new'), { archiver: a, proven: false });
});
