// Backups that go wrong, on real PostgreSQL 15 and pgBackRest 2.45: a corrupted repository makes the backup that
// depends on the damaged files fail with the reason in bounded time, and the next full backup succeeds; a backup
// from the primary interrupted by a failover (the primary killed while it runs) completes or fails cleanly, and the
// next one succeeds.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { LocalCluster, stateDir } from '../helpers/cli.js';
import { postgresRepository, removeRepository } from '../helpers/repository.js';
import { eventually, query, uriFor } from '../helpers/sql.js';
import type { BackupJob } from '../../crds/backupjob.js';

const state = stateDir('pgop-bkfault-');
const repo = postgresRepository('pgop-bkfault-repo-');
const c = new LocalCluster(state, 'faults');
after(async () => { await c.down(); removeRepository(repo); });

const job = async (name: string) => JSON.parse(await c.ok(['local', 'get', 'backupjob', name, '-o', 'json'])) as BackupJob;
const created = (out: string) => /backupjob\/(\S+) created/.exec(out)?.[1] ?? '';
const finished = (j: BackupJob) => j.status?.phase === 'Succeeded' || j.status?.phase === 'Failed';
const superuser = (instance: string) => uriFor('postgres', c.secret('superuser'), c.instanceSpec(instance).port, 'postgres', c.caFile());

test('the cluster comes up with a posix repository', async () => {
  const f = join(state, 'faults.yaml');
  writeFileSync(f, `apiVersion: postgres.keiailab.io/v1alpha1\nkind: PostgresCluster\nmetadata:\n  name: faults\nspec:\n  instances: 2\n  postgresVersion: 15\n  backup:\n    repository:\n      posix:\n        path: ${repo}\n`);
  await c.ok(['local', 'up', '-f', f, '--wait', '--timeout', '240']);
});

test('a corrupted repository: the backup that depends on the damaged files fails with the reason; the next full succeeds', async () => {
  const out = await c.ok(['local', 'backup', 'faults', '--type', 'full', '--wait', '--timeout', '300']);
  const label = /backup (\d{8}-\d{6}F) /.exec(out)?.[1] ?? '';
  assert.ok(label, out);
  // Damage the full backup's manifest (and its copy): a diff backup must read it to know what changed.
  const dir = join(repo, 'backup', 'default_faults', label);
  const manifests = readdirSync(dir).filter((f) => f.startsWith('backup.manifest'));
  assert.deepEqual(manifests.sort(), ['backup.manifest', 'backup.manifest.copy']);
  for (const m of manifests) writeFileSync(join(dir, m), '[backup]\nthis is not a manifest\n');
  const diff = await c.run(['local', 'backup', 'faults', '--type', 'diff', '--wait', '--timeout', '300']);
  assert.notEqual(diff.code, 0, 'the diff backup cannot succeed on a damaged prior backup');
  const failed = await job(created(diff.stdout));
  assert.equal(failed.status?.phase, 'Failed');
  assert.match(failed.status?.message ?? '', /manifest|checksum|invalid|format/i, failed.status?.message);
  assert.equal(failed.status?.conditions?.find((x) => x.type === 'Completed')?.reason, 'BackupFailed');
  const next = await c.ok(['local', 'backup', 'faults', '--type', 'full', '--wait', '--timeout', '300']);
  const nextLabel = /backup (\d{8}-\d{6}F) /.exec(next)?.[1] ?? '';
  assert.ok(nextLabel && nextLabel !== label, next);
  const listed = JSON.parse(await c.ok(['local', 'backups', 'faults', '-o', 'json'])) as { backups: { label: string }[] };
  assert.ok(listed.backups.some((b) => b.label === nextLabel));
});

test('a backup from the primary interrupted by a failover completes or fails cleanly, and the next one succeeds', async () => {
  const cl = await c.get();
  const primary = cl.status?.currentPrimary ?? '';
  // Enough data that the backup is still copying when the primary is killed.
  await query(superuser(primary), "CREATE TABLE filler AS SELECT i, md5(random()::text) || md5(random()::text) || md5(random()::text) AS pad FROM generate_series(1, 1500000) i");
  const started = await c.ok(['local', 'backup', 'faults', '--type', 'full', '--target', 'primary']);
  const name = created(started);
  await eventually(() => job(name), (j) => j.status?.phase === 'Running' || finished(j), 120_000);
  await c.ok(['local', 'kill', primary]);
  const failedOver = await c.waitFor('a promoted replica', (x) => (x.status?.failovers ?? []).some((f) => f.outcome === 'promoted') && x.status?.currentPrimary !== primary, 120_000);
  assert.notEqual(failedOver.status?.currentPrimary, primary);
  const end = await eventually(() => job(name), finished, 600_000);
  if (end.status?.phase === 'Succeeded') {
    assert.match(end.status.backupId ?? '', /^\d{8}-\d{6}F$/);
    const listed = JSON.parse(await c.ok(['local', 'backups', 'faults', '-o', 'json'])) as { backups: { label: string }[] };
    assert.ok(listed.backups.some((b) => b.label === end.status?.backupId), 'a succeeded backup is in the repository');
  } else {
    assert.ok((end.status?.message ?? '').length > 0, 'a failed backup says why');
  }
  await c.waitFor('Ready again', (x) => x.status?.phase === 'Ready', 240_000);
  const next = await c.ok(['local', 'backup', 'faults', '--type', 'full', '--wait', '--timeout', '600']);
  assert.match(next, /backup \d{8}-\d{6}F \(/);
});
