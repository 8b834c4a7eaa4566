// A retried backup step keeps retention's record, on real PostgreSQL 15 and pgBackRest 2.45: the runBackup
// processor (the one the worker runs) is run twice with the same request, as BullMQ does when an attempt's outcome
// was lost (a transient error after the work, or the worker died before acknowledging). The second attempt finds
// the backup it already took and must report the same expired backups, although its own view of the repository
// before and after no longer differs: the list is kept as annotations of the job's backup.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { LocalCluster, stateDir } from '../helpers/cli.js';
import { postgresRepository, removeRepository } from '../helpers/repository.js';
import { postgresUser } from '../../adapters/os/os-user.js';
import { runBackupProcessor, type BackupHosts } from '../../adapters/backup/backup-step.js';
import { localRepoAccess } from '../../adapters/local/backup-hosts.js';
import { RedisResourceStore } from '../../adapters/local/redis-store.js';
import type { BackupRequest, BackupResult } from '../../machines/backup/backup.types.js';

const state = stateDir('pgop-bkretry-');
const repo = postgresRepository('pgop-bkretry-repo-');
const pgUser = postgresUser();
const cluster = new LocalCluster(state, 'retried');
let store: RedisResourceStore | undefined;
after(async () => {
  await store?.close();
  await cluster.down();
  removeRepository(repo);
});

test('the same backup request run twice reports the same backups retention expired', async () => {
  const file = join(state, 'retried.yaml');
  writeFileSync(file, `apiVersion: postgres.keiailab.io/v1alpha1\nkind: PostgresCluster\nmetadata:\n  name: retried\nspec:\n  instances: 1\n  postgresVersion: 15\n  backup:\n    repository:\n      posix:\n        path: ${repo}\n    retention:\n      fullCount: 1\n`);
  await cluster.ok(['local', 'up', '-f', file, '--wait', '--timeout', '240']);
  const first = /backup (\d{8}-\d{6}F) /.exec(await cluster.ok(['local', 'backup', 'retried', '--type', 'full', '--wait', '--timeout', '300']))?.[1] ?? '';
  assert.ok(first);
  // Labels are per second: the next full backup must not share the first one's.
  await new Promise((r) => setTimeout(r, 1100));

  const { redisUrl } = JSON.parse(readFileSync(join(state, 'platform.json'), 'utf8')) as { redisUrl: string };
  store = RedisResourceStore.connect(redisUrl);
  // The local platform's view, as the worker's LocalBackupHosts gives it: the instances' spec files, the secret files.
  const hosts: BackupHosts = {
    user: pgUser,
    instances: async () => [cluster.instanceSpec('retried-1')],
    repoAccess: async (namespace, r) => localRepoAccess(state, namespace, r),
  };
  const step = runBackupProcessor({ store, hosts });
  const request: BackupRequest = {
    namespace: 'default', name: 'retried-by-hand', uid: 'retried-by-hand-uid', cluster: 'retried', backupType: 'full',
    target: 'primary', kind: 'backup', createdAt: new Date().toISOString(),
  };
  const run = async () => await step(request as unknown as Record<string, unknown>, async () => undefined, new AbortController().signal) as BackupResult;

  const attempt1 = await run();
  assert.deepEqual(attempt1.expired, [first], 'retention (fullCount 1) expired the earlier full backup');
  const attempt2 = await run();
  assert.equal(attempt2.label, attempt1.label, 'the retry returns the backup the first attempt took');
  assert.deepEqual(attempt2.expired, [first], 'and still says what retention removed');
  const listed = JSON.parse(await cluster.ok(['local', 'backups', 'retried', '-o', 'json'])) as { backups: { label: string }[] };
  assert.deepEqual(listed.backups.map((b) => b.label), [attempt1.label]);
});
