// Backups you can restore, on real PostgreSQL 15 and pgBackRest 2.45 through the real CLI: a full backup with
// progress and its status; rows written with recorded times; a failover whose WAL archive keeps no gap; PITR into
// a new cluster that holds exactly the rows up to the target; the same after the source cluster and its
// instances are gone (repository kept), replaying across the failover's timelines; retention keeps exactly
// `fullCount` full backups.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, writeFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { execFileSync } from 'node:child_process';
import { LocalCluster, stateDir } from '../helpers/cli.js';
import { postgresRepository, removeRepository } from '../helpers/repository.js';
import { query, uriFor } from '../helpers/sql.js';
import type { PostgresCluster } from '../../crds/postgrescluster.js';
import type { BackupJob } from '../../crds/backupjob.js';
import { postgresUser } from '../../adapters/os/os-user.js';

const state = stateDir('pgop-backup-');
const repo = postgresRepository('pgop-repo-');
const pgUser = postgresUser();
const src = new LocalCluster(state, 'src');
after(async () => { await src.down(); removeRepository(repo); });

const manifest = (name: string, body: string) => {
  const file = join(state, `${name}.yaml`);
  writeFileSync(file, `apiVersion: postgres.keiailab.io/v1alpha1\nkind: PostgresCluster\nmetadata:\n  name: ${name}\nspec:\n${body}`);
  return file;
};
const repoYaml = (indent: string) => `${indent}repository:\n${indent}  posix:\n${indent}    path: ${repo}\n`;
const superuser = (c: LocalCluster, instance: string) => uriFor('postgres', c.secret('superuser'), c.instanceSpec(instance).port, 'postgres', c.caFile());
const primaryOf = (c: PostgresCluster) => c.status?.currentPrimary ?? '';
const ids = async (c: LocalCluster) => {
  const cl = await c.get();
  return (await query<{ id: number }>(superuser(c, primaryOf(cl)), 'SELECT id FROM t ORDER BY id')).map((r) => r.id);
};
/** Commits a row and returns the server's clock right after the commit. */
const writeRow = async (uri: string, id: number): Promise<string> => {
  await query(uri, 'INSERT INTO t (id) VALUES ($1)', [id]);
  const [r] = await query<{ at: string }>(uri, "SELECT to_char(clock_timestamp() AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"') AS at");
  return r?.at ?? '';
};
const pause = (ms: number) => new Promise((r) => setTimeout(r, ms));
/** `pgbackrest check` on an instance with its agent's own config: archiving works and the current segment arrives. */
const pgbackrestCheck = (c: LocalCluster, instance: string) => {
  const spec = c.instanceSpec(instance);
  execFileSync('pgbackrest', [`--config=${join(spec.runDir, 'pgbackrest.conf')}`, `--stanza=default_${c.name}`, 'check'], {
    env: { ...process.env, PGPASSWORD: c.secret('superuser') }, ...(pgUser ? { uid: pgUser.uid, gid: pgUser.gid } : {}), stdio: 'pipe',
  });
};
/** Archived segments per timeline, as numbers (log * 256 + seg). */
function archivedSegments(stanza: string): Map<number, number[]> {
  const root = join(repo, 'archive', stanza, '15-1');
  const out = new Map<number, number[]>();
  for (const dir of readdirSync(root).filter((d) => /^[0-9A-F]{16}$/.test(d))) {
    for (const f of readdirSync(join(root, dir))) {
      const m = /^([0-9A-F]{8})([0-9A-F]{8})([0-9A-F]{8})-/.exec(f);
      if (!m) continue;
      const tl = parseInt(m[1] ?? '', 16);
      out.set(tl, [...(out.get(tl) ?? []), parseInt(m[2] ?? '', 16) * 256 + parseInt(m[3] ?? '', 16)]);
    }
  }
  for (const v of out.values()) v.sort((a, b) => a - b);
  return out;
}

let t1 = '';
let t3 = '';

test('a cluster with a posix repository archives WAL into its own stanza', async () => {
  await src.ok(['local', 'up', '-f', manifest('src', `  instances: 2\n  postgresVersion: 15\n  backup:\n${repoYaml('    ')}    retention:\n      fullCount: 2\n`), '--wait', '--timeout', '240']);
  const c = await src.get();
  const [s] = await query<{ archive_mode: string; archive_command: string }>(superuser(src, primaryOf(c)),
    "SELECT current_setting('archive_mode') AS archive_mode, current_setting('archive_command') AS archive_command");
  assert.equal(s?.archive_mode, 'on');
  assert.match(s?.archive_command ?? '', /^pgbackrest --config=\S+ --stanza=default_src archive-push %p$/);
  pgbackrestCheck(src, primaryOf(c));
  assert.ok(existsSync(join(repo, 'archive', 'default_src', 'archive.info')));
  const archiving = (x: PostgresCluster) => x.status?.conditions?.find((k) => k.type === 'ContinuousArchiving');
  await src.waitFor('ContinuousArchiving=True', (x) => archiving(x)?.status === 'True', 60_000);
  // A repository the postgres user cannot write: the failure shows as a condition, then clears once fixed.
  const dir = join(repo, 'archive', 'default_src');
  execFileSync('chmod', ['000', dir]);
  try {
    // A committed write first: a switch on a segment holding nothing new is a no-op and archives nothing.
    await query(superuser(src, primaryOf(c)), 'CREATE TABLE archiving_probe (id int)');
    await query(superuser(src, primaryOf(c)), 'SELECT pg_switch_wal()');
    const failing = await src.waitFor('ContinuousArchiving=False', (x) => archiving(x)?.status === 'False', 60_000);
    assert.equal(archiving(failing)?.reason, 'ArchiveCommandFailing');
    assert.match(archiving(failing)?.message ?? '', /archiving [0-9A-F]{24} failed at /);
  } finally {
    execFileSync('chmod', ['750', dir]);
  }
  await src.waitFor('ContinuousArchiving=True again', (x) => archiving(x)?.status === 'True', 120_000);
});

test('pgop local backup --wait takes a full backup from the standby and records it in status', async () => {
  const out = await src.ok(['local', 'backup', 'src', '--wait', '--timeout', '300']);
  assert.match(out, /Running/);
  assert.match(out, /backup \d{8}-\d{6}F \(/);
  const jobs = JSON.parse(await src.ok(['local', 'get', 'backupjob', '-o', 'json'])) as { items: BackupJob[] };
  assert.equal(jobs.items.length, 1);
  const s = jobs.items[0]?.status;
  assert.equal(s?.phase, 'Succeeded');
  assert.match(s?.backupId ?? '', /^\d{8}-\d{6}F$/);
  assert.equal(s?.instance, 'src-2', 'prefer-standby copies from the ready replica');
  assert.equal(s?.repository, `posix:${repo}`);
  assert.equal(s?.timeline, 1);
  assert.match(s?.startLsn ?? '', /^[0-9A-F]+\/[0-9A-F]+$/);
  assert.ok((s?.sizeBytes ?? 0) > 1_000_000);
  assert.ok(s?.walStart && s.walEnd && s.walStart <= s.walEnd);
  const table = await src.ok(['local', 'get', 'backupjob']);
  assert.match(table, /^NAME\s+CLUSTER\s+TYPE\s+PHASE\s+SIZE\s+STARTED\s+DURATION/);
  assert.match(table, /src\s+full\s+Succeeded\s+[\d.]+ MiB/);
  const listed = await src.ok(['local', 'backups', 'src']);
  assert.match(listed, new RegExp(`${s?.backupId}\\s+full\\s+\\S+\\s+[\\d.]+ MiB\\s+${s?.startLsn?.replace('/', '\\/')} - `));
});

test('rows written around a failover: the WAL archive has no gap and pgbackrest check passes on the new primary', async () => {
  const c = await src.get();
  const before = primaryOf(c);
  const uri = superuser(src, before);
  await query(uri, 'CREATE TABLE t (id int PRIMARY KEY)');
  t1 = await writeRow(uri, 1);
  await pause(1500);
  await writeRow(uri, 2);
  await src.ok(['local', 'kill', before]);
  const failed = await src.waitFor('a promoted replica', (x) => (x.status?.failovers ?? []).some((f) => f.outcome === 'promoted'), 90_000);
  const now = primaryOf(failed);
  assert.notEqual(now, before);
  const uri2 = superuser(src, now);
  await writeRow(uri2, 3).catch(async () => { await pause(2000); return writeRow(uri2, 3); }).then((at) => { t3 = at; });
  await pause(1500);
  await writeRow(uri2, 4);
  pgbackrestCheck(src, now);
  const segments = archivedSegments('default_src');
  const timelines = [...segments.keys()].sort();
  assert.deepEqual(timelines, [1, 2]);
  for (const [tl, segs] of segments) {
    for (let i = 1; i < segs.length; i++) assert.equal(segs[i], (segs[i - 1] ?? 0) + 1, `timeline ${tl}: segment ${segs[i - 1]} is followed by ${segs[i]}`);
  }
  const lastOfOne = segments.get(1)?.at(-1) ?? 0;
  const firstOfTwo = segments.get(2)?.[0] ?? 0;
  assert.ok(firstOfTwo <= lastOfOne + 1, `timeline 2 starts at ${firstOfTwo}, timeline 1 ends at ${lastOfOne}`);
});

test('PITR into a new cluster holds exactly the rows up to the target; its replica is cloned from its new primary', async () => {
  const pitr = new LocalCluster(state, 'pitr1');
  await pitr.ok(['local', 'apply', '-f', manifest('pitr1', `  instances: 2\n  postgresVersion: 15\n  bootstrap:\n    recovery:\n${repoYaml('      ')}      sourceCluster: { namespace: default, name: src }\n      target:\n        time: "${t1}"\n  backup:\n${repoYaml('    ')}`)]);
  const c = await pitr.waitFor('the restored cluster Ready', (x) => x.status?.phase === 'Ready' && x.status.readyInstances === 2, 240_000);
  assert.deepEqual(await ids(pitr), [1]);
  const replica = (c.status?.instances ?? []).find((i) => i.role === 'replica');
  assert.ok(replica);
  const rows = await query<{ id: number }>(superuser(pitr, replica.name), 'SELECT id FROM t ORDER BY id');
  assert.deepEqual(rows.map((r) => r.id), [1]);
  // Its own stanza, never the source's: the promoted timeline's history lands in default_pitr1.
  const [a] = await query<{ cmd: string }>(superuser(pitr, primaryOf(c)), "SELECT current_setting('archive_command') AS cmd");
  assert.match(a?.cmd ?? '', /--stanza=default_pitr1 /);
  pgbackrestCheck(pitr, primaryOf(c));
  assert.ok(existsSync(join(repo, 'archive', 'default_pitr1', 'archive.info')));
  const [settings] = await query<{ rc: string }>(superuser(pitr, primaryOf(c)), "SELECT current_setting('restore_command') AS rc");
  assert.equal(settings?.rc, '', 'no recovery setting outlives the restore');
  await pitr.ok(['local', 'delete', 'pgc', 'pitr1', '--wait']);
});

test('after the source cluster and its instances are gone, a restore still replays across the failover to the target', async () => {
  await src.ok(['local', 'delete', 'pgc', 'src', '--wait', '--timeout', '120']);
  assert.ok(!existsSync(join(state, 'instances', 'default', 'src-1')) && !existsSync(join(state, 'instances', 'default', 'src-2')), 'the source instances are gone');
  const pitr = new LocalCluster(state, 'pitr2');
  await pitr.ok(['local', 'apply', '-f', manifest('pitr2', `  instances: 1\n  postgresVersion: 15\n  bootstrap:\n    recovery:\n${repoYaml('      ')}      sourceCluster: { namespace: default, name: src }\n      target:\n        time: "${t3}"\n  backup:\n${repoYaml('    ')}    retention:\n      fullCount: 2\n`)]);
  await pitr.waitFor('the restored cluster Ready', (x) => x.status?.phase === 'Ready' && x.status.readyInstances === 1, 240_000);
  assert.deepEqual(await ids(pitr), [1, 2, 3]);
});

test('retention keeps exactly fullCount full backups; the backup that expired one says so', async () => {
  const pitr = new LocalCluster(state, 'pitr2');
  const labels: string[] = [];
  for (let i = 0; i < 3; i++) {
    const out = await pitr.ok(['local', 'backup', 'pitr2', '--type', 'full', '--wait', '--timeout', '300']);
    labels.push(/backup (\d{8}-\d{6}F) /.exec(out)?.[1] ?? '');
    // Labels are per second.
    await pause(1100);
  }
  const info = JSON.parse(await pitr.ok(['local', 'backups', 'pitr2', '-o', 'json'])) as { backups: { label: string; type: string }[] };
  assert.deepEqual(info.backups.map((b) => b.label), labels.slice(1));
  const jobs = (JSON.parse(await pitr.ok(['local', 'get', 'backupjob', '-o', 'json'])) as { items: BackupJob[] }).items
    .filter((j) => j.spec.cluster.name === 'pitr2').sort((a, b) => (a.status?.backupId ?? '').localeCompare(b.status?.backupId ?? ''));
  assert.deepEqual(jobs.at(-1)?.status?.expired, [labels[0]]);
});
