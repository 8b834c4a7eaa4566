import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createActor, fromCallback, fromPromise, type AnyEventObject } from 'xstate';
import { scheduledBackupMachine } from './scheduled-backup.machine.js';
import { selectScheduledBackupStatus } from './scheduled-backup.selectors.js';
import { jobNameFor, prunable } from './scheduled-backup.logic.js';
import type { CreateJobInput, DeleteJobsInput, JobRecord, ScheduleOwner, ScheduledBackupInput, ScheduleSpec, TimerInput } from './scheduled-backup.types.js';

const spec: ScheduleSpec = {
  cluster: { name: 'demo' }, schedule: '*/10 * * * * *', suspend: false, immediate: false, backupType: 'full', target: 'prefer-standby',
  concurrencyPolicy: 'forbid', successfulJobsHistoryLimit: 2, failedJobsHistoryLimit: 1,
};
const input: ScheduledBackupInput = { namespace: 'default', name: 'nightly', uid: 'sb-uid', generation: 1, createdAt: '2026-01-01T00:00:00.000Z', spec };
const flush = async () => { for (let i = 0; i < 5; i++) await new Promise((r) => setImmediate(r)); };

/** Fakes behind the machine's slots: a store of BackupJobs, a timer and a watcher the test drives. */
function harness(overrides: Partial<ScheduledBackupInput> = {}, snapshot?: unknown) {
  const store = new Map<string, JobRecord>();
  const timers: TimerInput[] = [];
  let timer: ((e: AnyEventObject) => void) | undefined;
  let watcher: ((e: AnyEventObject) => void) | undefined;
  let retry: ((e: AnyEventObject) => void) | undefined;
  const created: CreateJobInput[] = [];
  const deleted: string[][] = [];
  const machine = scheduledBackupMachine.provide({
    actors: {
      waitForSchedule: fromCallback<AnyEventObject, TimerInput>(({ input: i, sendBack }) => {
        if (!/^(\S+\s+){4,5}\S+$/.test(i.schedule)) throw new Error(`invalid schedule ${i.schedule}`);
        timers.push(i); timer = sendBack;
        return () => { timer = undefined; };
      }),
      watchJobs: fromCallback(({ sendBack }) => { watcher = sendBack; }),
      listJobs: fromPromise(async () => [...store.values()]),
      createBackupJob: fromPromise<void, CreateJobInput>(async ({ input: i }) => {
        created.push(i);
        store.set(i.jobName, { name: i.jobName, phase: 'Pending', scheduledAt: i.scheduledAt, completedAt: null });
      }),
      deleteBackupJobs: fromPromise<void, DeleteJobsInput>(async ({ input: i }) => { deleted.push(i.names); for (const n of i.names) store.delete(n); }),
      waitToRetry: fromCallback(({ sendBack }) => { retry = sendBack; }),
    },
  });
  const actor = createActor(machine, { input: { ...input, ...overrides }, ...(snapshot ? { snapshot: snapshot as never } : {}) }).start();
  return {
    actor, store, timers, created, deleted,
    tick: (e: AnyEventObject) => timer?.(e),
    observe: () => watcher?.({ type: 'jobs.observed', jobs: [...store.values()] }),
    retry: () => retry?.({ type: 'retry.due' }),
    status: () => selectScheduledBackupStatus(actor.getSnapshot()),
    timerArmed: () => timer !== undefined,
  };
}

const due = (scheduledAt: string, next: string, missed = 0) => ({ type: 'schedule.due', scheduledAt, missed, next });

test('the first timer counts from the creation time; a due occurrence creates one BackupJob named after it', async () => {
  const h = harness();
  assert.deepEqual(h.timers, [{ schedule: spec.schedule, since: input.createdAt, catchUp: true }]);
  h.tick({ type: 'schedule.planned', at: '2026-01-01T00:00:01.000Z', next: '2026-01-01T00:00:10.000Z' });
  assert.equal(h.status().nextScheduleTime, '2026-01-01T00:00:10.000Z');
  h.tick(due('2026-01-01T00:00:10.000Z', '2026-01-01T00:00:20.000Z'));
  await flush();
  assert.deepEqual(h.created, [{
    owner: { namespace: 'default', name: 'nightly', uid: 'sb-uid' }, jobName: 'nightly-20260101000010', cluster: 'demo',
    backupType: 'full', target: 'prefer-standby', scheduledAt: '2026-01-01T00:00:10.000Z',
  }]);
  const s = h.status();
  assert.equal(s.phase, 'Active');
  assert.equal(s.lastScheduleTime, '2026-01-01T00:00:10.000Z');
  assert.equal(s.lastBackupName, 'nightly-20260101000010');
  assert.equal(s.nextScheduleTime, '2026-01-01T00:00:20.000Z');
  assert.deepEqual(s.active, ['nightly-20260101000010']);
  // Back to waiting, the timer is armed again from the occurrence just handled.
  assert.deepEqual(h.timers.at(-1), { schedule: spec.schedule, since: '2026-01-01T00:00:10.000Z', catchUp: true });
});

test('immediate: a BackupJob for the creation time before any occurrence', async () => {
  const h = harness({ spec: { ...spec, immediate: true } });
  await flush();
  assert.deepEqual(h.created.map((c) => c.jobName), ['nightly-20260101000000']);
  assert.equal(h.timers.at(-1)?.since, input.createdAt);
});

test('forbid: an occurrence while a BackupJob still runs is skipped and counted', async () => {
  const h = harness();
  h.tick(due('2026-01-01T00:00:10.000Z', '2026-01-01T00:00:20.000Z'));
  await flush();
  h.store.set('nightly-20260101000010', { ...h.store.get('nightly-20260101000010')!, phase: 'Running' });
  h.tick(due('2026-01-01T00:00:20.000Z', '2026-01-01T00:00:30.000Z'));
  await flush();
  assert.equal(h.created.length, 1);
  assert.equal(h.status().skippedRuns, 1);
  assert.equal(h.status().lastScheduleTime, '2026-01-01T00:00:10.000Z');
  assert.ok(h.timerArmed());
  // Finished: the next occurrence runs.
  h.store.set('nightly-20260101000010', { ...h.store.get('nightly-20260101000010')!, phase: 'Succeeded', completedAt: '2026-01-01T00:00:25.000Z' });
  h.tick(due('2026-01-01T00:00:30.000Z', '2026-01-01T00:00:40.000Z'));
  await flush();
  assert.deepEqual(h.created.map((c) => c.jobName), ['nightly-20260101000010', 'nightly-20260101000030']);
});

test('replace: the running BackupJob is deleted before the new one is created', async () => {
  const h = harness({ spec: { ...spec, concurrencyPolicy: 'replace' } });
  h.tick(due('2026-01-01T00:00:10.000Z', '2026-01-01T00:00:20.000Z'));
  await flush();
  h.store.set('nightly-20260101000010', { ...h.store.get('nightly-20260101000010')!, phase: 'Running' });
  h.tick(due('2026-01-01T00:00:20.000Z', '2026-01-01T00:00:30.000Z'));
  await flush();
  assert.deepEqual(h.deleted, [['nightly-20260101000010']]);
  assert.deepEqual([...h.store.keys()], ['nightly-20260101000020']);
  assert.deepEqual(h.status().active, ['nightly-20260101000020']);
});

test('history: finished BackupJobs beyond the limits are deleted, oldest first; running ones never', async () => {
  const h = harness();
  const add = (sec: number, phase: JobRecord['phase']) => {
    const at = `2026-01-01T00:00:${String(sec).padStart(2, '0')}.000Z`;
    h.store.set(jobNameFor('nightly', at), { name: jobNameFor('nightly', at), phase, scheduledAt: at, completedAt: phase === 'Succeeded' ? at : null });
  };
  add(10, 'Succeeded'); add(20, 'Failed'); add(30, 'Succeeded'); add(40, 'Failed'); add(50, 'Succeeded'); add(55, 'Running');
  h.observe();
  await flush();
  assert.deepEqual(h.deleted, [['nightly-20260101000010', 'nightly-20260101000020']]);
  assert.deepEqual([...h.store.keys()].sort(), ['nightly-20260101000030', 'nightly-20260101000040', 'nightly-20260101000050', 'nightly-20260101000055']);
  assert.equal(h.status().lastSuccessfulTime, '2026-01-01T00:00:50.000Z');
  assert.ok(h.timerArmed(), 'back to waiting after pruning');
});

test('suspend stops the timer; resuming passes over what was missed instead of catching up', async () => {
  const h = harness();
  h.actor.send({ type: 'spec.changed', spec: { ...spec, suspend: true }, generation: 2 });
  await flush();
  assert.equal(h.status().phase, 'Suspended');
  assert.equal(h.timerArmed(), false);
  assert.equal(h.status().nextScheduleTime, undefined);
  h.actor.send({ type: 'spec.changed', spec, generation: 3 });
  await flush();
  assert.equal(h.status().phase, 'Active');
  assert.deepEqual(h.timers.at(-1), { schedule: spec.schedule, since: input.createdAt, catchUp: false });
  h.tick({ type: 'schedule.planned', at: '2026-01-01T01:00:00.000Z', next: '2026-01-01T01:00:10.000Z' });
  assert.equal(h.actor.getSnapshot().context.since, '2026-01-01T01:00:00.000Z');
  assert.equal(h.created.length, 0);
});

test('a schedule change re-arms the timer with the new schedule', async () => {
  const h = harness();
  h.actor.send({ type: 'spec.changed', spec: { ...spec, schedule: '0 * * * * *' }, generation: 2 });
  await flush();
  assert.equal(h.timers.at(-1)?.schedule, '0 * * * * *');
  assert.equal(h.status().observedGeneration, 2);
});

test('restored after an outage, the timer is re-armed from the persisted since (one catch-up, counted misses)', async () => {
  const h = harness();
  h.tick(due('2026-01-01T00:00:10.000Z', '2026-01-01T00:00:20.000Z'));
  await flush();
  const persisted = h.actor.getPersistedSnapshot();
  h.actor.stop();
  const again = harness({}, persisted);
  assert.deepEqual(again.timers, [{ schedule: spec.schedule, since: '2026-01-01T00:00:10.000Z', catchUp: true }]);
  // The adapter's timer finds 00:20 … 01:00 missed and reports only the latest, with the rest counted.
  again.store.set('nightly-20260101000010', { name: 'nightly-20260101000010', phase: 'Succeeded', scheduledAt: '2026-01-01T00:00:10.000Z', completedAt: '2026-01-01T00:00:15.000Z' });
  again.tick(due('2026-01-01T00:01:00.000Z', '2026-01-01T00:01:10.000Z', 4));
  await flush();
  assert.deepEqual(again.created.map((c) => c.jobName), ['nightly-20260101000100']);
  assert.equal(again.status().missedRuns, 4);
});

test('restored mid-creation, the creation runs again with the same BackupJob name (idempotent)', async () => {
  const h = harness();
  let release: () => void = () => undefined;
  const slow = scheduledBackupMachine.provide({
    actors: {
      waitForSchedule: fromCallback(({ sendBack }) => { sendBack(due('2026-01-01T00:00:10.000Z', '2026-01-01T00:00:20.000Z')); }),
      watchJobs: fromCallback(() => undefined), listJobs: fromPromise<JobRecord[], ScheduleOwner>(async () => []),
      createBackupJob: fromPromise(() => new Promise<void>((r) => { release = r; })),
      deleteBackupJobs: fromPromise<void, DeleteJobsInput>(async () => undefined), waitToRetry: fromCallback(() => undefined),
    },
  });
  h.actor.stop();
  const a = createActor(slow, { input }).start();
  await flush();
  assert.ok(a.getSnapshot().matches({ scheduling: 'creating' }));
  const persisted = a.getPersistedSnapshot();
  a.stop();
  release();
  const again = harness({}, persisted);
  await flush();
  assert.deepEqual(again.created.map((c) => c.jobName), ['nightly-20260101000010']);
  assert.equal(again.status().lastBackupName, 'nightly-20260101000010');
});

test('restored while its jobs were being listed, after a long outage: a later occurrence already due supersedes the interrupted one', async () => {
  const stuck = scheduledBackupMachine.provide({
    actors: {
      waitForSchedule: fromCallback<AnyEventObject, TimerInput>(({ input: i, sendBack }) => { if (i.since === input.createdAt) sendBack(due('2026-01-01T00:00:10.000Z', '2026-01-01T00:00:20.000Z')); }),
      watchJobs: fromCallback(() => undefined), listJobs: fromPromise<JobRecord[], ScheduleOwner>(() => new Promise<JobRecord[]>(() => undefined)),
      createBackupJob: fromPromise<void, CreateJobInput>(async () => undefined),
      deleteBackupJobs: fromPromise<void, DeleteJobsInput>(async () => undefined), waitToRetry: fromCallback(() => undefined),
    },
  });
  const a = createActor(stuck, { input: { ...input, spec: { ...spec, concurrencyPolicy: 'replace' } } }).start();
  await flush();
  assert.ok(a.getSnapshot().matches({ scheduling: 'checking' }));
  const persisted = a.getPersistedSnapshot();
  a.stop();
  // The operator comes back at 00:01:05: the timer asked again from 00:00:10 reports 00:01:00 due, 4 passed over
  // (as the adapter's timer does, at once when it starts).
  const timers: TimerInput[] = [];
  const created: string[] = [];
  const deleted: string[][] = [];
  const later = scheduledBackupMachine.provide({
    actors: {
      waitForSchedule: fromCallback<AnyEventObject, TimerInput>(({ input: i, sendBack }) => {
        timers.push(i);
        if (i.since === '2026-01-01T00:00:10.000Z') sendBack(due('2026-01-01T00:01:00.000Z', '2026-01-01T00:01:10.000Z', 4));
      }),
      watchJobs: fromCallback(() => undefined), listJobs: fromPromise<JobRecord[], ScheduleOwner>(async () => []),
      createBackupJob: fromPromise<void, CreateJobInput>(async ({ input: i }) => { created.push(i.jobName); }),
      deleteBackupJobs: fromPromise<void, DeleteJobsInput>(async ({ input: i }) => { deleted.push(i.names); }),
      waitToRetry: fromCallback(() => undefined),
    },
  });
  const again = createActor(later, { input: { ...input, spec: { ...spec, concurrencyPolicy: 'replace' } }, snapshot: persisted as never }).start();
  await flush();
  assert.equal(timers[0]?.since, '2026-01-01T00:00:10.000Z');
  // One BackupJob for the outage (the latest occurrence), none for the interrupted one, which counts as missed.
  assert.deepEqual(created, ['nightly-20260101000100']);
  assert.deepEqual(deleted, []);
  assert.equal(again.getSnapshot().context.missedRuns, 5);
  assert.equal(again.getSnapshot().context.lastScheduleTime, '2026-01-01T00:01:00.000Z');
});

test('while an occurrence is acted on, the timer asked again from it reporting the same occurrence changes nothing', async () => {
  const h = harness();
  h.tick(due('2026-01-01T00:00:10.000Z', '2026-01-01T00:00:20.000Z'));
  // The timer invoked in checking, from the occurrence itself: it can only report an earlier or equal time as planned.
  assert.deepEqual(h.timers.at(-1), { schedule: spec.schedule, since: '2026-01-01T00:00:10.000Z', catchUp: true });
  h.tick(due('2026-01-01T00:00:10.000Z', '2026-01-01T00:00:20.000Z'));
  await flush();
  assert.deepEqual(h.created.map((c) => c.jobName), ['nightly-20260101000010']);
  assert.equal(h.status().missedRuns, 0);
});

test('a store error that outlasts the next occurrence: the retry runs the latest due occurrence, not the stale one', async () => {
  let failing = true;
  const timers: TimerInput[] = [];
  const created: string[] = [];
  let retry: ((e: AnyEventObject) => void) | undefined;
  const m = scheduledBackupMachine.provide({
    actors: {
      // The adapter's timer at 00:00:45: from creation, 00:00:40 is due; asked again from 00:00:10, 00:00:40 too.
      waitForSchedule: fromCallback<AnyEventObject, TimerInput>(({ input: i, sendBack }) => {
        timers.push(i);
        if (timers.length === 1) sendBack(due('2026-01-01T00:00:10.000Z', '2026-01-01T00:00:20.000Z'));
        else if (!failing && i.since === '2026-01-01T00:00:10.000Z') sendBack(due('2026-01-01T00:00:40.000Z', '2026-01-01T00:00:50.000Z', 2));
      }),
      watchJobs: fromCallback(() => undefined),
      listJobs: fromPromise<JobRecord[], ScheduleOwner>(async () => { if (failing) throw new Error('store unreachable'); return []; }),
      createBackupJob: fromPromise<void, CreateJobInput>(async ({ input: i }) => { created.push(i.jobName); }),
      deleteBackupJobs: fromPromise<void, DeleteJobsInput>(async () => undefined),
      waitToRetry: fromCallback(({ sendBack }) => { retry = sendBack; }),
    },
  });
  const a = createActor(m, { input }).start();
  await flush();
  assert.ok(a.getSnapshot().matches('retrying'));
  failing = false;
  retry?.({ type: 'retry.due' });
  await flush();
  assert.deepEqual(created, ['nightly-20260101000040']);
  assert.equal(a.getSnapshot().context.missedRuns, 3);
});

test('an invalid schedule is Failed with the reason until the spec changes', async () => {
  const h = harness({ spec: { ...spec, schedule: 'every day' } });
  await flush();
  const s = h.status();
  assert.equal(s.phase, 'Failed');
  assert.match(s.message ?? '', /invalid schedule/);
  assert.equal(s.conditions[0]?.reason, 'InvalidSchedule');
  h.actor.send({ type: 'spec.changed', spec, generation: 2 });
  await flush();
  assert.equal(h.status().phase, 'Active');
});

test('a store error backs off, then the occurrence that was due still runs once', async () => {
  const h = harness();
  let fail = true;
  let sent = false;
  const m = scheduledBackupMachine.provide({
    actors: {
      waitForSchedule: fromCallback(({ sendBack }) => { if (!sent) { sent = true; sendBack(due('2026-01-01T00:00:10.000Z', '2026-01-01T00:00:20.000Z')); } }),
      watchJobs: fromCallback(() => undefined),
      listJobs: fromPromise<JobRecord[], ScheduleOwner>(async () => { if (fail) throw new Error('store unreachable'); return []; }),
      createBackupJob: fromPromise(async () => { h.created.push({} as CreateJobInput); }),
      deleteBackupJobs: fromPromise<void, DeleteJobsInput>(async () => undefined),
      waitToRetry: fromCallback(({ sendBack }) => { setImmediate(() => { fail = false; sendBack({ type: 'retry.due' }); }); }),
    },
  });
  h.actor.stop();
  const a = createActor(m, { input }).start();
  await flush(); await flush();
  assert.equal(h.created.length, 1);
  assert.equal(a.getSnapshot().context.lastBackupName, 'nightly-20260101000010');
});

test('deletion deletes every BackupJob the schedule owns, then finishes', async () => {
  const h = harness();
  h.tick(due('2026-01-01T00:00:10.000Z', '2026-01-01T00:00:20.000Z'));
  await flush();
  h.actor.send({ type: 'resource.deleted' });
  await flush();
  assert.deepEqual(h.deleted.at(-1), ['nightly-20260101000010']);
  assert.equal(h.actor.getSnapshot().status, 'done');
});

test('logic: names fit a DNS label; prune limits of zero drop every finished job', () => {
  assert.equal(jobNameFor('a'.repeat(63), '2026-11-25T16:45:05.123Z'), `${'a'.repeat(48)}-20261125164505`);
  assert.ok(jobNameFor('a'.repeat(63), '2026-11-25T16:45:05Z').length <= 63);
  const jobs: JobRecord[] = [{ name: 'x', phase: 'Succeeded', scheduledAt: '1', completedAt: null }, { name: 'y', phase: 'Deleting', scheduledAt: '0', completedAt: null }];
  assert.deepEqual(prunable(jobs, { successfulJobsHistoryLimit: 0, failedJobsHistoryLimit: 0 }), ['x']);
});
