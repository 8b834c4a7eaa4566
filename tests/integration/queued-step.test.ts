// The queued-step actor and the step worker on a real Redis: deterministic job ids deduplicate, progress and the
// outcome come back as events, transient errors retry with backoff, permanent ones fail at once.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createActor, createMachine, type AnyEventObject } from 'xstate';
import { StateDir } from '../../adapters/local/state-dir.js';
import { startRedis, stopRedis } from '../../adapters/local/redis-server.js';
import { openStepsQueue, bullConnection, removeJobsOf } from '../../adapters/queues/steps-queue.js';
import { stepJobId } from '../../actors/queues/queue-names.js';
import { fromQueuedStep, type QueuedStepDeps } from '../../actors/queues/from-queued-step.js';
import { startStepWorker, type StepProcessor } from '../../actors/queues/step-worker.js';
import { PermanentError } from '../../adapters/platform.js';
import { createLogger } from '../../adapters/logging/logger.js';
import { stateDir } from '../helpers/cli.js';
import type { Worker } from 'bullmq';

let url = '';
let pid = 0;
let steps: QueuedStepDeps;
let worker: Worker;
const runs: Record<string, number> = {};

const processor: StepProcessor = async (data, progress) => {
  const key = String(data.key);
  runs[key] = (runs[key] ?? 0) + 1;
  if (data.mode === 'permanent') throw new PermanentError('the spec can never work');
  if (data.mode === 'flaky' && (runs[key] ?? 0) < 3) throw new Error('connection refused (try again)');
  await progress({ percent: 50, detail: 'halfway' });
  await new Promise((r) => setTimeout(r, 200));
  return { key, runs: runs[key] };
};

before(async () => {
  const r = await startRedis(new StateDir(stateDir('pgop-queue-')));
  url = r.url;
  pid = r.pid;
  steps = await openStepsQueue(url, createLogger('test'));
  worker = startStepWorker({ connection: bullConnection(url), processors: { cloneInstance: processor }, log: createLogger('test', {}, { write: () => undefined } as never) });
});
after(async () => { await worker.close(); await steps.queue.close(); await steps.events.close(); await stopRedis(pid); setTimeout(() => process.exit(0), 200).unref(); });

/** A one-state machine around the queued step, collecting what it reports. */
function waitOnStep(key: string, mode: string, jobId: (i: { key: string }) => string = (i) => `cloneInstance-${i.key}`) {
  const seen: AnyEventObject[] = [];
  const logic = fromQueuedStep<{ key: string; mode: string }>('cloneInstance', { ...steps, pollMs: 300 }, jobId);
  const machine = createMachine({
    invoke: { id: 'step', src: logic, input: { key, mode } },
    on: { '*': { actions: ({ event }) => seen.push(event) } },
  });
  const actor = createActor(machine).start();
  const done = new Promise<AnyEventObject>((resolve) => {
    const t = setInterval(() => { const end = seen.find((e) => e.type === 'step.succeeded' || e.type === 'step.failed'); if (end) { clearInterval(t); resolve(end); } }, 50);
  });
  return { actor, seen, done };
}

test('two waiters on the same step share one job and both see its progress and result', async () => {
  const a = waitOnStep('shared', 'ok');
  const b = waitOnStep('shared', 'ok');
  const [ra, rb] = await Promise.all([a.done, b.done]);
  assert.equal(ra.type, 'step.succeeded');
  assert.equal(rb.type, 'step.succeeded');
  assert.equal(runs.shared, 1, 'one execution for one deterministic job id');
  assert.ok(a.seen.some((e) => e.type === 'step.progress'));
  a.actor.stop(); b.actor.stop();
});

test('a waiter that arrives after the job finished gets the outcome at once (re-attach after a restart)', async () => {
  const late = waitOnStep('shared', 'ok');
  assert.equal((await late.done).type, 'step.succeeded');
  assert.equal(runs.shared, 1);
  late.actor.stop();
});

test('transient errors are retried with backoff until the step succeeds', async () => {
  const w = waitOnStep('flaky', 'flaky');
  const end = await w.done;
  assert.equal(end.type, 'step.succeeded');
  assert.equal(runs.flaky, 3);
  w.actor.stop();
});

test('a permanent error fails the step after one attempt, with the reason', async () => {
  const w = waitOnStep('broken', 'permanent');
  const end = await w.done as { type: string; error: string; permanent: boolean };
  assert.equal(end.type, 'step.failed');
  assert.match(end.error, /the spec can never work/);
  assert.equal(end.permanent, true);
  assert.equal(runs.broken, 1);
  w.actor.stop();
});

test('a deleted and recreated object of the same name gets a fresh job, never the old one\'s outcome', async () => {
  const old = { kind: 'PostgresCluster', uid: 'uid-old', generation: 1 };
  const recreated = { kind: 'PostgresCluster', uid: 'uid-new', generation: 1 };
  const first = waitOnStep('same-name', 'ok', () => stepJobId(old, 'cloneInstance', 'demo-2'));
  assert.equal((await first.done).type, 'step.succeeded');
  first.actor.stop();
  assert.equal(runs['same-name'], 1);
  // The old object's job is still there (kept for restores); the new object must not adopt it.
  const second = waitOnStep('same-name', 'ok', () => stepJobId(recreated, 'cloneInstance', 'demo-2'));
  const end = await second.done;
  second.actor.stop();
  assert.equal(end.type, 'step.succeeded');
  assert.equal(runs['same-name'], 2, 'the recreated object ran its own job');
  assert.equal((end as unknown as { result: { runs: number } }).result.runs, 2);
  // Deleting the old object removes its jobs and leaves the new object's.
  assert.equal(await removeJobsOf(steps.queue, 'PostgresCluster', 'uid-old'), 1);
  assert.equal(await steps.queue.getJob(stepJobId(old, 'cloneInstance', 'demo-2')), undefined);
  assert.ok(await steps.queue.getJob(stepJobId(recreated, 'cloneInstance', 'demo-2')));
});
