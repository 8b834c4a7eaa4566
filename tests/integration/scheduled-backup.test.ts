// ScheduledBackup on the local platform with real PostgreSQL, Redis and pgBackRest: a schedule every few seconds
// produces real succeeded BackupJobs owned by it, history is pruned to the limits, suspend stops it, an operator
// restart after missed runs yields exactly one catch-up run (the misses counted, not replayed), forbid skips
// occurrences while a BackupJob of the schedule is still pending, and an occurrence interrupted by a store error and
// an operator outage is superseded by the latest one due instead of being retried forever.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Cron } from 'croner';
import { LocalCluster, stateDir, pgop } from '../helpers/cli.js';
import { postgresRepository, removeRepository } from '../helpers/repository.js';
import { eventually } from '../helpers/sql.js';
import { isAlive } from '../../adapters/local/processes.js';
import type { BackupJob } from '../../crds/backupjob.js';
import type { ScheduledBackup } from '../../crds/scheduledbackup.js';
import { jobNameFor } from '../../machines/scheduled-backup/scheduled-backup.logic.js';

// No re-read on a timer: the schedule must learn of its BackupJobs' progress through the runtime's change feed (the
// operator inherits this environment).
process.env.PGOP_SCHEDULE_POLL_MS = String(3_600_000);

const state = stateDir('pgop-sched-');
const repo = postgresRepository('pgop-sched-repo-');
const c = new LocalCluster(state, 'sched');
after(async () => { await c.down(); removeRepository(repo); });

const SCHEDULE = '*/4 * * * * *';
const SCHEDULED_AT = 'postgres.keiailab.io/scheduled-at';
const write = (name: string, body: string) => { const f = join(state, `${name}.yaml`); writeFileSync(f, body); return f; };
const schedule = (extra: string, cron = SCHEDULE) => write('sb', `apiVersion: postgres.keiailab.io/v1alpha1\nkind: ScheduledBackup\nmetadata:\n  name: every4s\nspec:\n  cluster: { name: sched }\n  schedule: "${cron}"\n  target: primary\n${extra}`);
const sb = async () => JSON.parse(await c.ok(['local', 'get', 'scheduledbackup', 'every4s', '-o', 'json'])) as ScheduledBackup;
const jobs = async () => (JSON.parse(await c.ok(['local', 'get', 'backupjob', '-o', 'json'])) as { items: BackupJob[] }).items
  .filter((j) => j.metadata.ownerReferences?.some((o) => o.kind === 'ScheduledBackup' && o.name === 'every4s'));
const repoBackups = async () => (JSON.parse(await c.ok(['local', 'backups', 'sched', '-o', 'json'])) as { backups: { label: string }[] }).backups;
const scheduledAt = (j: BackupJob) => j.metadata.annotations?.[SCHEDULED_AT] ?? '';
const pause = (ms: number) => new Promise((r) => setTimeout(r, ms));
async function restartOperator(env: Record<string, string> = {}) {
  const stopped = await c.ok(['local', 'kill', 'operator', '--signal', 'TERM']);
  const pid = Number(/\(pid (\d+)\)/.exec(stopped)?.[1]);
  await eventually(async () => isAlive(pid), (alive) => !alive, 60_000);
  const up = await pgop(['local', 'up', '--state-dir', state], env);
  assert.equal(up.code, 0, up.stderr);
}

test('the cluster comes up with a posix repository', async () => {
  const f = write('sched', `apiVersion: postgres.keiailab.io/v1alpha1\nkind: PostgresCluster\nmetadata:\n  name: sched\nspec:\n  instances: 1\n  postgresVersion: 15\n  backup:\n    repository:\n      posix:\n        path: ${repo}\n`);
  await c.ok(['local', 'up', '-f', f, '--wait', '--timeout', '240']);
});

test('an invalid cron schedule is refused at the door, naming the field', async () => {
  const r = await c.run(['local', 'apply', '-f', write('bad', 'apiVersion: postgres.keiailab.io/v1alpha1\nkind: ScheduledBackup\nmetadata:\n  name: bad\nspec:\n  cluster: { name: sched }\n  schedule: "61 * * * *"\n')]);
  assert.notEqual(r.code, 0);
  assert.match(r.stderr, /spec\.schedule: is not a valid cron schedule .*minute/);
});

test('every few seconds: real succeeded BackupJobs owned by the schedule, history pruned to the limits', async () => {
  await c.ok(['local', 'apply', '-f', schedule('  immediate: true\n  successfulJobsHistoryLimit: 2\n  failedJobsHistoryLimit: 1\n')]);
  const owner = await eventually(sb, (s) => !!s.metadata.uid && s.status?.phase === 'Active', 30_000);
  // Four backups in the repository, each from a BackupJob of this schedule (annotated with the job's uid).
  await eventually(repoBackups, (b) => b.length >= 4, 300_000);
  const kept = await eventually(jobs, (js) => js.filter((j) => j.status?.phase === 'Succeeded').length === 2 && js.every((j) => j.status?.phase !== 'Failed'), 60_000);
  for (const j of kept) {
    assert.deepEqual(j.metadata.ownerReferences?.map((o) => [o.kind, o.name, o.uid, o.controller]), [['ScheduledBackup', 'every4s', owner.metadata.uid, true]]);
    assert.match(j.metadata.name, /^every4s-\d{14}$/);
    assert.ok(new Cron(SCHEDULE, { timezone: 'UTC' }).nextRun(new Date(Date.parse(scheduledAt(j)) - 1))?.toISOString() === scheduledAt(j) || scheduledAt(j) === owner.metadata.creationTimestamp, `${scheduledAt(j)} is an occurrence`);
  }
  const s = await sb();
  assert.ok(s.status?.lastScheduleTime && s.status.lastBackupName && s.status.lastSuccessfulTime);
  assert.ok((s.status?.nextScheduleTime ?? '') > (s.status?.lastScheduleTime ?? ''));
  assert.ok((s.status?.active?.length ?? 0) <= 1, 'forbid: never two at once');
  const table = await c.ok(['local', 'get', 'scheduledbackup']);
  assert.match(table, /every4s\s+sched\s+\*\/4 \* \* \* \* \*\s+false\s+Active/);
});

test('suspend: no new BackupJobs while suspended', async () => {
  await c.ok(['local', 'apply', '-f', schedule('  suspend: true\n  successfulJobsHistoryLimit: 2\n  failedJobsHistoryLimit: 1\n')]);
  await eventually(sb, (s) => s.status?.phase === 'Suspended' && (s.status.active ?? []).length === 0, 300_000);
  const before = (await jobs()).map((j) => j.metadata.name).sort();
  const inRepo = (await repoBackups()).length;
  await pause(12_000); // three occurrences
  assert.deepEqual((await jobs()).map((j) => j.metadata.name).sort(), before);
  assert.equal((await repoBackups()).length, inRepo);
  assert.equal((await sb()).status?.nextScheduleTime, undefined);
});

test('an operator restart after missed runs yields exactly one catch-up run; the misses are counted', async () => {
  // Every 20 s: a backup (about 12 s here) ends before the next occurrence, so no BackupJob of this phase is replaced
  // and each occurrence that ran keeps its object. replace: the catch-up is created even if one was still running.
  const cron = '*/20 * * * * *';
  await c.ok(['local', 'apply', '-f', schedule('  concurrencyPolicy: replace\n  successfulJobsHistoryLimit: 20\n  failedJobsHistoryLimit: 20\n', cron)]);
  const resumedFrom = (await sb()).status?.lastScheduleTime ?? '';
  await eventually(sb, (s) => s.status?.phase === 'Active' && (s.status.lastScheduleTime ?? '') > resumedFrom, 60_000);
  const stopped = await c.ok(['local', 'kill', 'operator', '--signal', 'TERM']);
  const pid = Number(/\(pid (\d+)\)/.exec(stopped)?.[1]);
  await eventually(async () => isAlive(pid), (alive) => !alive, 60_000);
  const last = (await sb()).status;
  // The last occurrence the operator acted on: a job created as it stopped may not have reached status yet, and an
  // occurrence it had begun (the persisted `since`, say mid-replace) is completed after the restart, not missed.
  const acting = (last?.machine as { snapshot?: { context?: { since?: string | null } } } | undefined)?.snapshot?.context?.since ?? '';
  const L = [last?.lastScheduleTime ?? '', acting, ...(await jobs()).map(scheduledAt)].sort().at(-1) ?? '';
  await pause(65_000); // at least three occurrences pass while nobody runs the schedule
  const restartedAt = new Date().toISOString();
  const up = await pgop(['local', 'up', '--state-dir', state]);
  assert.equal(up.code, 0, up.stderr);
  await eventually(sb, (s) => (s.status?.missedRuns ?? 0) > (last?.missedRuns ?? 0), 60_000);
  const after = await eventually(jobs, (js) => js.some((j) => scheduledAt(j) > L), 60_000);
  // The first run after the restart is the catch-up, for the latest occurrence missed.
  const C = after.map(scheduledAt).filter((t) => t > L).sort()[0] ?? '';
  const occurrences = new Cron(cron, { timezone: 'UTC' }).nextRuns(1000, new Date(L)).map((d) => d.toISOString());
  const missedBeforeRestart = occurrences.filter((t) => t < restartedAt);
  assert.ok(missedBeforeRestart.length >= 3, `occurrences while the operator was down: ${missedBeforeRestart.join(', ')}`);
  assert.ok(C >= (missedBeforeRestart.at(-1) ?? ''), `the catch-up (${C}) is for the latest missed occurrence, not an early one`);
  const ranForOutage = (await jobs()).map(scheduledAt).filter((t) => t > L && t < restartedAt);
  assert.ok(ranForOutage.length <= 1, `one catch-up at most for the outage, got ${ranForOutage.join(', ')}`);
  const passedOver = occurrences.filter((t) => t < C);
  assert.equal((await sb()).status?.missedRuns ?? 0, (last?.missedRuns ?? 0) + passedOver.length, 'the runs passed over are counted');
  // One job for the catch-up occurrence. Under load its backup may outlast the next occurrence, which then replaces
  // it (concurrencyPolicy: replace): so counted in the list that found it, and never more than one later.
  assert.equal(after.filter((j) => scheduledAt(j) === C).length, 1);
  assert.ok((await jobs()).filter((j) => scheduledAt(j) === C).length <= 1, 'no second job for the catch-up occurrence');
});

test('forbid: while a BackupJob of the schedule is pending, occurrences are skipped, not piled up', async () => {
  // No worker: the next BackupJob stays pending, deterministically.
  await c.ok(['local', 'apply', '-f', schedule('  suspend: true\n  successfulJobsHistoryLimit: 20\n  failedJobsHistoryLimit: 20\n')]);
  await eventually(sb, (s) => s.status?.phase === 'Suspended' && (s.status.active ?? []).length === 0, 300_000);
  await restartOperator({ PGOP_WORKERS: 'external' });
  const skipped = (await sb()).status?.skippedRuns ?? 0;
  await c.ok(['local', 'apply', '-f', schedule('  concurrencyPolicy: forbid\n  successfulJobsHistoryLimit: 20\n  failedJobsHistoryLimit: 20\n')]);
  const s = await eventually(sb, (x) => (x.status?.skippedRuns ?? 0) >= skipped + 2, 60_000);
  assert.equal(s.status?.active?.length, 1);
  const pending = s.status?.active?.[0] ?? '';
  const open = (await jobs()).filter((j) => j.status?.phase !== 'Succeeded' && j.status?.phase !== 'Failed');
  assert.deepEqual(open.map((j) => j.metadata.name), [pending]);
  // With a worker again the pending one runs and the schedule goes on.
  await restartOperator();
  await eventually(jobs, (js) => js.find((j) => j.metadata.name === pending)?.status?.phase === 'Succeeded', 300_000);
  await eventually(sb, (x) => (x.status?.lastBackupName ?? '') > pending, 60_000);
});

test('a store error that outlasts an operator outage: the schedule moves on to the latest due occurrence, once', async () => {
  // The next occurrence's BackupJob name is taken by an object the schedule does not own, so creating it fails
  // (Retrying, naming the object) for as long as that object exists.
  const cron = '*/10 * * * * *';
  await c.ok(['local', 'apply', '-f', schedule('  suspend: true\n  concurrencyPolicy: forbid\n  successfulJobsHistoryLimit: 20\n  failedJobsHistoryLimit: 20\n', cron)]);
  await eventually(sb, (s) => s.status?.phase === 'Suspended' && (s.status.active ?? []).length === 0, 300_000);
  const T1 = new Cron(cron, { timezone: 'UTC' }).nextRun(new Date(Date.now() + 8_000))?.toISOString() ?? '';
  const taken = jobNameFor('every4s', T1);
  await c.ok(['local', 'apply', '-f', write('taken', `apiVersion: postgres.keiailab.io/v1alpha1\nkind: BackupJob\nmetadata:\n  name: ${taken}\nspec:\n  cluster: { name: not-this-schedules }\n`)]);
  const before = (await sb()).status?.missedRuns ?? 0;
  // Resumed after the occurrence before T1, so T1 is the first one the schedule acts on.
  await pause(Math.max(0, Date.parse(T1) - 10_000 + 500 - Date.now()));
  await c.ok(['local', 'apply', '-f', schedule('  concurrencyPolicy: forbid\n  successfulJobsHistoryLimit: 20\n  failedJobsHistoryLimit: 20\n', cron)]);
  const retrying = await eventually(sb, (s) => s.status?.phase === 'Retrying', 60_000);
  assert.match(retrying.status?.message ?? '', new RegExp(`${taken} already exists and is not owned by ScheduledBackup every4s`));
  // The operator is away while two more occurrences pass; the name stays taken.
  const stopped = await c.ok(['local', 'kill', 'operator', '--signal', 'TERM']);
  const pid = Number(/\(pid (\d+)\)/.exec(stopped)?.[1]);
  await eventually(async () => isAlive(pid), (alive) => !alive, 60_000);
  await pause(25_000);
  const up = await pgop(['local', 'up', '--state-dir', state]);
  assert.equal(up.code, 0, up.stderr);
  const owned = await eventually(jobs, (js) => js.some((j) => scheduledAt(j) > T1), 90_000);
  // One BackupJob for everything from T1 on: the latest occurrence due when the retry came, not T1.
  const C = owned.map(scheduledAt).filter((t) => t >= T1).sort()[0] ?? '';
  assert.ok(C > T1, `the first run after the outage (${C}) is later than the interrupted occurrence (${T1})`);
  const passedOver = new Cron(cron, { timezone: 'UTC' }).nextRuns(100, new Date(Date.parse(T1) - 1)).map((d) => d.toISOString()).filter((t) => t < C);
  assert.ok(passedOver.length >= 2, `occurrences passed over: ${passedOver.join(', ')}`);
  const s = await eventually(sb, (x) => x.status?.phase === 'Active' && (x.status.missedRuns ?? 0) > before, 60_000);
  assert.equal(s.status?.missedRuns, before + passedOver.length, 'the interrupted occurrence and those after it are counted as missed');
  const foreign = JSON.parse(await c.ok(['local', 'get', 'backupjob', taken, '-o', 'json'])) as BackupJob;
  assert.equal(foreign.metadata.ownerReferences, undefined, 'the object that held the name is left alone');
  await c.ok(['local', 'apply', '-f', schedule('  suspend: true\n', cron)]);
});
