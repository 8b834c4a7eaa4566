// prefer-standby's fallback on real PostgreSQL 15 and pgBackRest 2.45 (issue #13): a ready standby whose replay is
// paused (what a long report on a standby often asks for) cannot copy a backup: pgBackRest waits archive-timeout for
// it to replay up to the backup's start and gives up. The step then takes the backup from the primary, and the
// BackupJob records the primary as the instance that copied and why prefer-standby fell back; the backup is in the
// repository and a new cluster restores from it. With the stanza's backup lock held (another backup still running)
// the step fails for a retry instead: no second backup from the primary.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync, readFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { LocalCluster, stateDir } from '../helpers/cli.js';
import { postgresRepository, removeRepository } from '../helpers/repository.js';
import { eventually, query, uriFor } from '../helpers/sql.js';
import type { BackupJob } from '../../crds/backupjob.js';
import { postgresUser } from '../../adapters/os/os-user.js';
import { runBackupProcessor, type BackupHosts } from '../../adapters/backup/backup-step.js';
import { localRepoAccess } from '../../adapters/local/backup-hosts.js';
import { RedisResourceStore } from '../../adapters/local/redis-store.js';
import { PermanentError } from '../../actors/ports/errors.js';
import type { BackupRequest } from '../../machines/backup/backup.types.js';

const state = stateDir('pgop-bkfallback-');
const repo = postgresRepository('pgop-bkfallback-repo-');
const pgUser = postgresUser();
const c = new LocalCluster(state, 'fallback');
let store: RedisResourceStore | undefined;
let holder: ChildProcess | undefined;
after(async () => {
  holder?.kill('SIGKILL');
  await store?.close();
  await new LocalCluster(state, 'fbrestored').down().catch(() => undefined);
  await c.down();
  removeRepository(repo);
});

const manifest = (name: string, body: string) => {
  const file = join(state, `${name}.yaml`);
  writeFileSync(file, `apiVersion: postgres.keiailab.io/v1alpha1\nkind: PostgresCluster\nmetadata:\n  name: ${name}\nspec:\n${body}`);
  return file;
};
const repoYaml = (indent: string) => `${indent}repository:\n${indent}  posix:\n${indent}    path: ${repo}\n`;
const superuser = (cl: LocalCluster, instance: string) => uriFor('postgres', cl.secret('superuser'), cl.instanceSpec(instance).port, 'postgres', cl.caFile());
const created = (out: string) => /backupjob\/(\S+) created/.exec(out)?.[1] ?? '';
/** What the repository holds, as `pgbackrest info` reads it from the repository alone. */
const repositoryLabels = (): string[] => {
  const out = execFileSync('pgbackrest', [`--repo1-path=${repo}`, '--stanza=default_fallback', 'info', '--output=json', '--log-level-console=off'], {
    ...(pgUser ? { uid: pgUser.uid, gid: pgUser.gid } : {}), stdio: ['ignore', 'pipe', 'pipe'],
  }).toString();
  return ((JSON.parse(out) as { backup?: { label: string }[] }[])[0]?.backup ?? []).map((b) => b.label);
};

let primary = '';
let standby = '';
let backupId = '';

test('a two-instance cluster with a posix repository', async () => {
  await c.ok(['local', 'up', '-f', manifest('fallback', `  instances: 2\n  postgresVersion: 15\n  backup:\n${repoYaml('    ')}`), '--wait', '--timeout', '240']);
  const cl = await c.get();
  primary = cl.status?.currentPrimary ?? '';
  standby = (cl.status?.instances ?? []).find((i) => i.role === 'replica')?.name ?? '';
  assert.ok(primary && standby && primary !== standby);
  await query(superuser(c, primary), 'CREATE TABLE kept AS SELECT i FROM generate_series(1, 1000) i');
  await eventually(() => query<{ n: string }>(superuser(c, standby), "SELECT count(*) AS n FROM pg_class WHERE relname = 'kept'"), (r) => r[0]?.n === '1', 60_000);
});

test('a standby with paused replay: prefer-standby falls back to the primary, says why, and the backup restores', async () => {
  await query(superuser(c, standby), 'SELECT pg_wal_replay_pause()');
  try {
    const [paused] = await query<{ p: boolean }>(superuser(c, standby), 'SELECT pg_is_wal_replay_paused() AS p');
    assert.equal(paused?.p, true);
    // Still ready and streaming: the operator picks it for prefer-standby.
    const cl = await c.get();
    assert.ok((cl.status?.instances ?? []).some((i) => i.name === standby && i.role === 'replica' && i.ready), JSON.stringify(cl.status?.instances));
    const out = await c.ok(['local', 'backup', 'fallback', '--type', 'full', '--wait', '--timeout', '400']);
    const job = JSON.parse(await c.ok(['local', 'get', 'backupjob', created(out), '-o', 'json'])) as BackupJob;
    assert.equal(job.spec.target ?? 'prefer-standby', 'prefer-standby');
    assert.equal(job.status?.phase, 'Succeeded', job.status?.message);
    assert.equal(job.status?.instance, primary, 'the primary copied the files');
    assert.match(job.status?.message ?? '', new RegExp(`^prefer-standby: the backup on standby ${standby} failed \\(.*replay.*\\); backed up on the primary$`, 's'));
    backupId = job.status?.backupId ?? '';
    assert.match(backupId, /^\d{8}-\d{6}F$/);
    assert.deepEqual(repositoryLabels(), [backupId], 'the repository holds exactly the primary\'s backup');
  } finally {
    await query(superuser(c, standby), 'SELECT pg_wal_replay_resume()');
  }
  const restored = new LocalCluster(state, 'fbrestored');
  await restored.ok(['local', 'apply', '-f', manifest('fbrestored', `  instances: 1\n  postgresVersion: 15\n  bootstrap:\n    recovery:\n${repoYaml('      ')}      sourceCluster: { namespace: default, name: fallback }\n      backup: "${backupId}"\n`)]);
  const r = await restored.waitFor('the restored cluster Ready', (x) => x.status?.phase === 'Ready' && x.status.readyInstances === 1, 240_000);
  const [n] = await query<{ n: string }>(superuser(restored, r.status?.currentPrimary ?? ''), 'SELECT count(*) AS n FROM kept');
  assert.equal(n?.n, '1000');
  await restored.ok(['local', 'delete', 'pgc', 'fbrestored', '--wait', '--timeout', '120']);
});

test('the stanza\'s backup lock held (another backup running): the step fails for a retry, with no backup from the primary', async () => {
  // pgBackRest takes <lock-path>/<stanza>-backup.lock with flock(); the step's lock-path is the primary's run dir.
  const lock = join(c.instanceSpec(primary).runDir, 'pgbackrest-lock', 'default_fallback-backup.lock');
  assert.ok(existsSync(join(c.instanceSpec(primary).runDir, 'pgbackrest-lock')), 'the earlier backups made the lock directory');
  holder = spawn('flock', ['-x', lock, 'sleep', '600'], { stdio: 'ignore', ...(pgUser ? { uid: pgUser.uid, gid: pgUser.gid } : {}) });
  await eventually(async () => existsSync(lock), (x) => x, 10_000);

  const { redisUrl } = JSON.parse(readFileSync(join(state, 'platform.json'), 'utf8')) as { redisUrl: string };
  store = RedisResourceStore.connect(redisUrl);
  const hosts: BackupHosts = {
    user: pgUser,
    instances: async () => [c.instanceSpec(primary), c.instanceSpec(standby)],
    repoAccess: async (namespace, r) => localRepoAccess(state, namespace, r),
  };
  const step = runBackupProcessor({ store, hosts });
  const request: BackupRequest = {
    namespace: 'default', name: 'locked-by-hand', uid: 'locked-by-hand-uid', cluster: 'fallback', backupType: 'full',
    target: 'prefer-standby', kind: 'backup', createdAt: new Date().toISOString(),
  };
  const details: string[] = [];
  await assert.rejects(
    step(request as unknown as Record<string, unknown>, async (p) => { details.push(String((p as { detail?: unknown }).detail ?? '')); }, new AbortController().signal),
    (e: Error) => {
      assert.match(e.message, /\[050\]|unable to acquire lock/i);
      assert.ok(!(e instanceof PermanentError), 'a held lock is retried, not permanent');
      return true;
    });
  assert.ok(details.length > 0 && details.every((d) => !/backed up on the primary|prefer-standby/.test(d)), `no fallback attempt: ${details.join(' | ')}`);
  assert.ok(details.some((d) => d.includes(`from ${standby}`)), 'the standby was the one asked');
  assert.deepEqual(repositoryLabels(), [backupId], 'no second backup');
  holder.kill('SIGKILL');
  holder = undefined;
});
